"""Neighbourhood teams: one endpoint per municipality, `page`/`has_more` paging, API key."""

from __future__ import annotations

from collections.abc import Iterator

from ketenbrug.connectors.base import SourceConnector, page_numbers
from ketenbrug.connectors.manifest import DatasetManifest

PAGE_SIZE = 200


class WijkteamConnector(SourceConnector):
    source = "wijkteam"

    def _auth_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.settings.credential}

    def _pages(self, dataset: DatasetManifest, since: str | None) -> Iterator[list[dict]]:
        municipalities = [m["municipality_code"] for m in self._get("/municipalities")["data"]]
        for code in municipalities:
            params: dict[str, int | str] = {"page_size": PAGE_SIZE}
            if since:
                params["updated_since"] = since
            yield from page_numbers(
                lambda page, code=code, params=params: self._get(
                    f"/municipalities/{code}/{dataset.name}", {**params, "page": page}))
