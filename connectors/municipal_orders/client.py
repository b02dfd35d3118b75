"""Municipal-funded agreements and the hours booked on them: `page`/`has_more` paging."""

from __future__ import annotations

from ketenbrug.connectors.base import Pages, SourceConnector, page_numbers
from ketenbrug.connectors.manifest import DatasetManifest

PAGE_SIZE = 200


class MunicipalOrdersConnector(SourceConnector):
    source = "municipal_orders"

    def _pages(self, dataset: DatasetManifest, since: str | None) -> Pages:
        params: dict[str, int | str] = {"page_size": PAGE_SIZE}
        if since:
            params["updated_since"] = since
        yield from page_numbers(self._numbered(f"/{dataset.name}", params))
