"""What every connector shares: a manifest, a session, paging, and the allowlist."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from ketenbrug.connectors.allowlist import Allowed, apply_allowlist
from ketenbrug.connectors.body import Body
from ketenbrug.connectors.http import (
    HttpSettings,
    SourceError,
    Throttle,
    build_session,
    get_json,
)
from ketenbrug.connectors.manifest import DatasetManifest, load_manifest

# what a connector's `_pages` yields: one list of raw records per page (a generator, so a
# probe can close it after the first)
Pages = Generator[list[dict], None, None]


@dataclass
class Extract:
    """The permitted content of one pull of one dataset."""

    manifest: DatasetManifest
    records: list[tuple[Allowed, dict]] = field(default_factory=list)  # (allowed, raw)
    dropped_fields: Counter = field(default_factory=Counter)
    pages: int = 0
    max_updated_at: str | None = None


@dataclass(frozen=True)
class Probe:
    """What the first page of a dataset showed: its records, and the required permitted
    fields none of them carried (empty when there were no records to tell by)."""

    dataset: str
    records: int
    fields_missing: tuple[str, ...]


class SourceConnector:
    """Base for a source system connector; subclasses implement `_pages` per dataset."""

    source: str = ""

    def __init__(self, settings: HttpSettings):
        self.settings = settings
        self.manifest = load_manifest(self.source)
        self.session = build_session(settings, self._auth_headers())
        self._throttle = Throttle(settings.rate_limit_per_s)

    def _auth_headers(self) -> dict[str, str]:
        """The static credential's header; none when OAuth2 (settings.auth) sets it."""
        credential = self.settings.credential
        return {"Authorization": f"Bearer {credential}"} if credential else {}

    def _pages(self, dataset: DatasetManifest, since: str | None) -> Pages:
        """Yield each page's records, every one a JSON object (Body.objects checks)."""
        raise NotImplementedError

    def _get(self, path_or_url: str, params: dict | None = None) -> Body:
        url = path_or_url if "://" in path_or_url else self.settings.base_url + path_or_url
        self._throttle.wait()
        return get_json(self.session, self.settings, self.source, url, params,
                        self._error_detail)

    def _error_detail(self, body: dict) -> str | None:
        """What an error answer's body says, for the message (never a value); a source
        whose standard defines error bodies reads them here."""
        return None

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

    def probe(self, dataset: str) -> Probe:
        """Read the first page of `dataset` as a pull would, keep nothing, and say which
        required permitted fields no record on it carried (`ketenbrug sources check`)."""
        manifest = self.manifest[dataset]
        pages = self._pages(manifest, None)
        try:
            page = next(pages, [])
        finally:
            pages.close()
        required = [f.name for f in manifest.fields if not f.optional]
        never = set(required)
        for raw in page:
            never &= set(apply_allowlist(raw, manifest, Counter()).missing)
        return Probe(dataset, len(page), tuple(n for n in required if n in never)
                     if page else ())

    def close(self) -> None:
        self.session.close()


def page_numbers(fetch: Callable[[int], Body], start: int = 1) -> Pages:
    """Walk a `page`/`has_more` API: `fetch(page)` returns a body with a `data` list of
    objects and a boolean `has_more`; refuses (SourceError) any other shape."""
    page = start
    while True:
        body = fetch(page)
        yield body.objects("data")
        if not body.flag("has_more"):
            return
        page += 1
