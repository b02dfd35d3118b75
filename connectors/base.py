"""What every connector shares: a manifest, a session, paging, and the allowlist."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ketenbrug.connectors.allowlist import Allowed, apply_allowlist
from ketenbrug.connectors.body import Body
from ketenbrug.connectors.http import HttpSettings, SourceError, build_session, get_json
from ketenbrug.connectors.manifest import DatasetManifest, load_manifest


@dataclass
class Extract:
    """The permitted content of one pull of one dataset."""

    manifest: DatasetManifest
    records: list[tuple[Allowed, dict]] = field(default_factory=list)  # (allowed, raw)
    dropped_fields: Counter = field(default_factory=Counter)
    pages: int = 0
    max_updated_at: str | None = None


class SourceConnector:
    """Base for a source system connector; subclasses implement `_pages` per dataset."""

    source: str = ""

    def __init__(self, settings: HttpSettings):
        self.settings = settings
        self.manifest = load_manifest(self.source)
        self.session = build_session(settings, self._auth_headers())

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.credential}"}

    def _pages(self, dataset: DatasetManifest, since: str | None) -> Iterator[list[dict]]:
        """Yield each page's records, every one a JSON object (Body.objects checks)."""
        raise NotImplementedError

    def _get(self, path_or_url: str, params: dict | None = None) -> Body:
        url = path_or_url if "://" in path_or_url else self.settings.base_url + path_or_url
        return get_json(self.session, self.settings, self.source, url, params)

    def _numbered(self, path: str, params: dict) -> Callable[[int], Body]:
        """A fetch for page_numbers: GET `path` with `params` and the page number."""
        return lambda page: self._get(path, {**params, "page": page})

    def pull(self, dataset: str, since: str | None = None) -> Extract:
        """Pull `dataset` (records updated at or after `since`), permitted fields only.

        Raises SourceError when the source fails after retries, sends a body it cannot
        read or of the wrong shape (a record that is not an object fails its page: it has
        no key to be accounted for by), or exceeds the page cap.
        """
        manifest = self.manifest[dataset]
        extract = Extract(manifest=manifest)
        for page in self._pages(manifest, since):
            extract.pages += 1
            if extract.pages > self.settings.max_pages:
                raise SourceError(
                    f"{self.source}.{dataset}: more than {self.settings.max_pages} pages")
            for raw in page:
                allowed = apply_allowlist(raw, manifest, extract.dropped_fields)
                extract.records.append((allowed, raw))
                updated = allowed.fields.get("updated_at")
                if updated and (extract.max_updated_at is None or updated > extract.max_updated_at):
                    extract.max_updated_at = updated
        return extract

    def close(self) -> None:
        self.session.close()


def page_numbers(fetch: Callable[[int], Body], start: int = 1) -> Iterator[list[dict]]:
    """Walk a `page`/`has_more` API: `fetch(page)` returns a body with a `data` list of
    objects and a boolean `has_more`; refuses (SourceError) any other shape."""
    page = start
    while True:
        body = fetch(page)
        yield body.objects("data")
        if not body.flag("has_more"):
            return
        page += 1
