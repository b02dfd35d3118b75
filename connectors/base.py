"""What every connector shares: a manifest, a session, paging, and the allowlist."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

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
T = TypeVar("T")


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

    def stream(self, dataset: str, since: str | None = None) -> Stream:
        """Pull `dataset` (records updated at or after `since`) page by page, permitted
        fields only: nothing is held beyond the page being read, so landing can write a
        pull of millions of records in chunks (`Stream.chunks`).

        Iterating raises SourceError when the source fails after retries, sends a body it
        cannot read or of the wrong shape (a record that is not an object fails its page:
        it has no key to be accounted for by), or exceeds the page cap.
        """
        return Stream(self, self.manifest[dataset], since)

    def pull(self, dataset: str, since: str | None = None) -> Extract:
        """The whole of `stream(dataset, since)` in memory (tools and small pulls)."""
        stream = self.stream(dataset, since)
        records = [record for chunk in stream.chunks(1) for record in chunk]
        return Extract(stream.manifest, records, stream.dropped_fields, stream.pages,
                       stream.max_updated_at)

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


class Stream:
    """One pull in progress: its permitted records as they arrive, and its tally so far
    (pages read, fields dropped by the allowlist, the newest `updated_at` seen)."""

    def __init__(self, connector: SourceConnector, manifest: DatasetManifest,
                 since: str | None):
        self.manifest = manifest
        self.dropped_fields: Counter = Counter()
        self.pages = 0
        self.max_updated_at: str | None = None
        self._connector, self._since = connector, since

    def chunks(self, size: int) -> Iterator[list[tuple[Allowed, dict]]]:
        """(allowed, raw) records in lists of at least `size` (whole pages; the last may
        be shorter). One pass: a stream is read once."""
        return in_chunks(self.allowed_pages(), size)

    def allowed_pages(self) -> Iterator[list[tuple[Allowed, dict]]]:
        """Each page's (allowed, raw) records as it arrives, the tally kept up to date."""
        for page in self._connector._pages(self.manifest, self._since):
            self.pages += 1
            if self.pages > self._connector.settings.max_pages:
                raise SourceError(f"{self._connector.source}.{self.manifest.name}: "
                                  f"more than {self._connector.settings.max_pages} pages")
            allowed_page = []
            for raw in page:
                allowed = apply_allowlist(raw, self.manifest, self.dropped_fields)
                allowed_page.append((allowed, raw))
                updated = allowed.fields.get("updated_at")
                if updated and (self.max_updated_at is None or updated > self.max_updated_at):
                    self.max_updated_at = updated
            yield allowed_page


def in_chunks(parts: Iterable[list[T]], size: int) -> Iterator[list[T]]:
    """`parts` joined into lists of at least `size` items, each yielded as soon as it is
    full (before the next part is asked for); the last may be shorter."""
    chunk: list[T] = []
    for part in parts:
        chunk += part
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


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
