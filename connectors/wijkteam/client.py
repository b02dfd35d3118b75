"""Neighbourhood teams: one endpoint per municipality, `page`/`has_more` paging, API key."""

from __future__ import annotations

import re

from ketenbrug.connectors.base import Pages, SourceConnector, page_numbers
from ketenbrug.connectors.body import Body
from ketenbrug.connectors.manifest import DatasetManifest

PAGE_SIZE = 200
# A code goes into the next request's path: nothing that could change the path or query.
_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")


class WijkteamConnector(SourceConnector):
    source = "wijkteam"

    def _auth_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.settings.credential} if self.settings.credential else {}

    def _pages(self, dataset: DatasetManifest, since: str | None) -> Pages:
        for code in _municipality_codes(self._get("/municipalities")):
            params: dict[str, int | str] = {"page_size": PAGE_SIZE}
            if since:
                params["updated_since"] = since
            yield from page_numbers(
                self._numbered(f"/municipalities/{code}/{dataset.name}", params))


def _municipality_codes(body: Body) -> list[str]:
    """The municipality codes of the listing; refuses a code that is not a plain token."""
    codes = []
    for index, municipality in enumerate(body.objects("data")):
        code = municipality.get("municipality_code")
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise body.wrong(f"data[{index}] has no usable 'municipality_code'")
        codes.append(code)
    return codes
