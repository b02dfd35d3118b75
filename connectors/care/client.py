"""Care providers over FHIR R4: EpisodeOfCare search bundles, paged by `next` links."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from ketenbrug.connectors.base import SourceConnector
from ketenbrug.connectors.body import Body, json_type
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
            yield bundle_resources(body)
            next_url = next_link(body, self.settings.base_url)
            if not next_url:
                return
            body = self._get(next_url)


def bundle_resources(body: Body) -> list[dict]:
    """The resources of a searchset Bundle's entries, patient identifiers other than a
    BSN removed; refuses an entry that is not an object or has no `resource` object."""
    resources = []
    for index, entry in enumerate(body.objects("entry", optional=True)):
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            raise body.wrong(f"entry[{index}] has no 'resource' object"
                             if resource is None else
                             f"entry[{index}]'s 'resource' is {json_type(resource)}, "
                             "not an object")
        resources.append(_with_bsn_only(resource))
    return resources


def next_link(body: Body, base_url: str) -> str | None:
    """The Bundle's `next` link, if any. Refuses one that leaves the source (another
    scheme, host or port): the session would send it the source's credential."""
    for index, link in enumerate(body.objects("link", optional=True)):
        if link.get("relation") != "next":
            continue
        url = link.get("url")
        if not isinstance(url, str) or not url:
            raise body.wrong(f"link[{index}] ('next') has no 'url' text")
        if _origin(url) != _origin(base_url):
            raise body.wrong(f"link[{index}] ('next') points outside the source")
        return url
    return None


def _origin(url: str) -> tuple[str, str | None, int | None]:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        return "", None, None


def _with_bsn_only(resource: dict) -> dict:
    """Keep the patient identifier only when it is a BSN (another system is not ours to take)."""
    patient = resource.get("patient")
    if not isinstance(patient, dict) or "identifier" not in patient:
        return resource
    identifier = patient["identifier"]
    if isinstance(identifier, dict) and identifier.get("system") == BSN_SYSTEM:
        return resource
    return {**resource, "patient": {k: v for k, v in patient.items() if k != "identifier"}}
