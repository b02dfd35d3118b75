"""Prison service detentions with the D&R plan: `offset`/`limit` paging."""

from __future__ import annotations

from collections.abc import Iterator

from connectors.base import SourceConnector
from connectors.manifest import DatasetManifest

PAGE_SIZE = 200


class DjiConnector(SourceConnector):
    source = "dji"

    def _pages(self, dataset: DatasetManifest, since: str | None) -> Iterator[list[dict]]:
        offset = 0
        while True:
            params = {"offset": offset, "limit": PAGE_SIZE}
            if since:
                params["updated_since"] = since
            body = self._get(f"/api/v1/{dataset.name}", params)
            items = body["items"]
            yield items
            offset += len(items)
            if not items or offset >= body["total"]:
                return
