"""Care providers over FHIR R4: EpisodeOfCare search bundles, paged by `next` links."""

from __future__ import annotations

from collections.abc import Iterator

from ketenbrug.connectors.base import SourceConnector
from ketenbrug.connectors.manifest import DatasetManifest

PAGE_SIZE = 100
BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"


class CareConnector(SourceConnector):
    source = "care"

    def _auth_headers(self) -> dict[str, str]:
        return {**super()._auth_headers(), "Accept": "application/fhir+json"}

    def _pages(self, dataset: DatasetManifest, since: str | None) -> Iterator[list[dict]]:
        params: dict[str, int | str] = {"_count": PAGE_SIZE}
        if since:
            params["_lastUpdated"] = f"ge{since}"
        body = self._get("/fhir/EpisodeOfCare", params)
        while True:
            yield [_with_bsn_only(e["resource"]) for e in body.get("entry", [])]
            next_url = next((link["url"] for link in body.get("link", [])
                             if link.get("relation") == "next"), None)
            if not next_url:
                return
            body = self._get(next_url)


def _with_bsn_only(resource: dict) -> dict:
    """Keep the patient identifier only when it is a BSN (another system is not ours to take)."""
    identifier = (resource.get("patient") or {}).get("identifier") or {}
    if identifier.get("system") != BSN_SYSTEM:
        resource = {**resource, "patient": {k: v for k, v in resource["patient"].items()
                                            if k != "identifier"}}
    return resource
