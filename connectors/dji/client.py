"""Prison service detentions with the D&R plan: `offset`/`limit` paging."""

from __future__ import annotations

from ketenbrug.connectors.base import Pages, SourceConnector
from ketenbrug.connectors.manifest import DatasetManifest

PAGE_SIZE = 200


class DjiConnector(SourceConnector):
    source = "dji"

    def _pages(self, dataset: DatasetManifest, since: str | None) -> Pages:
        offset = 0
        while True:
            params: dict[str, int | str] = {"offset": offset, "limit": PAGE_SIZE}
            if since:
                params["updated_since"] = since
            body = self._get(f"/api/v1/{dataset.name}", params)
            items = body.objects("items")
            total = body.count("total")
            yield items
            # Continue from where the answer says it was, not where we asked: a source that
            # serves a page again must not make us skip the page we asked for.
            offset = body.count("offset", default=offset) + len(items)
            if not items or offset >= total:
                return

    def count_changes(self, dataset: str, since: str | None) -> int:
        """How many records of `dataset` changed after `since` (one request).

        The API filters with >=, so records stamped exactly `since` (already landed by
        the pull that set the cursor) come first in the answer and are not counted.
        """
        params = {"offset": 0, "limit": PAGE_SIZE, **({"updated_since": since} if since else {})}
        body = self._get(f"/api/v1/{self.manifest[dataset].name}", params)
        at_cursor = sum(1 for item in body.objects("items")
                        if since and item.get("updated_at") == since)
        return body.count("total") - at_cursor
