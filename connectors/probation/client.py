"""3RO case systems: one tenant per probation organisation, `page`/`has_more` paging."""

from __future__ import annotations

from ketenbrug.connectors.base import Pages, SourceConnector, page_numbers
from ketenbrug.connectors.manifest import DatasetManifest

ORGANISATIONS = ("RN", "SVG", "LJR")
PAGE_SIZE = 200


class ProbationConnector(SourceConnector):
    source = "probation"

    def _pages(self, dataset: DatasetManifest, since: str | None) -> Pages:
        # The API can project fields: ask only for the top-level keys the manifest permits.
        wanted = ",".join(sorted({p.split(".")[0] for p in dataset.permitted_paths}))
        for org in ORGANISATIONS:
            params = {"page_size": PAGE_SIZE, "fields": wanted}
            if since:
                params["updated_since"] = since
            yield from page_numbers(self._numbered(f"/tenants/{org}/{dataset.name}", params))
