"""Query parsing and the sorted per-endpoint indexes the simulated APIs page through."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any
from urllib.parse import parse_qs

Record = dict[str, Any]

DEFAULT_PAGE_SIZE = 100
# Largest page a client may ask for; larger requests are refused, not silently cut.
MAX_PAGE_SIZE = 1000
PAGE_PARAMS = frozenset({"page", "page_size", "updated_since"})
# An RFC 3339 date-time (upper-case T and Z, no leap second), as the published interfaces
# (openapi/*.yaml) describe `updated_since`: a date or an instant without offset is refused.
_RFC_3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
                       r"(\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])")


class ApiError(Exception):
    """A request the simulator refuses; becomes `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Index:
    """One endpoint's records, sorted by (timestamp, key) so pages are stable."""

    def __init__(
        self, records: Iterable[Record], key: str, stamp: str | Callable[[Record], str]
    ) -> None:
        """`stamp` names the top-level timestamp field, or reads a nested one."""
        if isinstance(stamp, str):
            # itemgetter sorts a million records in C, several times faster than a lambda.
            self.records = sorted(records, key=itemgetter(stamp, key))
            self._stamps = list(map(itemgetter(stamp), self.records))
        else:
            self.records = sorted(records, key=lambda r: (stamp(r), r[key]))
            self._stamps = [stamp(r) for r in self.records]

    def page(self, instant: str | None, first: int, count: int) -> tuple[list[Record], int]:
        """Return (records first..first+count, total) of those changed at or after `instant`
        (all when None), in order. Only the page is copied, so deep pages stay cheap."""
        start = 0 if instant is None else bisect_left(self._stamps, instant)
        begin = start + first
        return self.records[begin : begin + count], len(self.records) - start


def parse_query(query: str, allowed: AbstractSet[str]) -> dict[str, str]:
    """Return the query parameters as a dict.

    Refuses (400) unknown names and names given more than once.
    """
    # Empty segments ("a=1&") are skipped; a bare name ("a") arrives as "" and is judged.
    parsed = parse_qs(query, keep_blank_values=True)
    for name, values in parsed.items():
        if name not in allowed:
            raise ApiError(400, f"unknown query parameter: {name}")
        if len(values) > 1:
            raise ApiError(400, f"query parameter given more than once: {name}")
    return {name: values[0] for name, values in parsed.items()}


def int_param(
    params: dict[str, str], name: str, default: int, low: int, high: int | None = None
) -> int:
    """Return integer parameter `name` (or `default`); refuses (400) non-integers and
    values outside [low, high]."""
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit():
        raise ApiError(400, f"{name} must be a non-negative integer")
    value = int(raw)
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(400, f"{name} must be {limit}")
    return value


def instant_param(raw: str | None, name: str, *, rfc_3339: bool = True) -> str | None:
    """Return an instant normalised to the records' form ('YYYY-MM-DDTHH:MM:SSZ').

    Takes an RFC 3339 date-time, as the published interfaces say; with `rfc_3339=False`
    (FHIR's `_lastUpdated`, whose dates may be partial) any ISO 8601 date or timestamp, one
    without offset taken as UTC. Fractions round up to the next whole second, so `>=` on
    the normalised form stays exact. Refuses (400) anything else, and an instant whose UTC
    form falls outside the years 1-9999 (the records' form cannot write it).
    """
    if raw is None:
        return None
    if rfc_3339 and not _RFC_3339.fullmatch(raw):
        raise ApiError(400, f"{name} is not an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SSZ)")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ApiError(400, f"{name} is not an ISO 8601 timestamp") from exc
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        if moment.microsecond:
            moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    except OverflowError as exc:
        raise ApiError(400, f"{name} in UTC falls outside the years 1-9999") from exc
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def repeated(first: int, count: int) -> tuple[int, int]:
    """Return (first, count) widened to start one page earlier: the page-twice fault serves
    the previous page again ahead of the requested one, so nothing is lost."""
    earlier = max(0, first - count)
    return earlier, count + first - earlier


def page_body(index: Index, params: dict[str, str], repeat: bool = False) -> dict[str, Any]:
    """Return the page-numbered body shared by probation, wijkteam and municipal_orders;
    with `repeat`, the previous page's records come again ahead of this page's.

    Reads `page`, `page_size` and `updated_since` from `params`; refuses (400) bad values.
    """
    page = int_param(params, "page", 1, 1)
    size = int_param(params, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    since = instant_param(params.get("updated_since"), "updated_since")
    first = (page - 1) * size
    records, total = index.page(since, *(repeated(first, size) if repeat else (first, size)))
    return {
        "data": records,
        "page": page,
        "page_size": size,
        "total": total,
        "has_more": first + size < total,
    }


def record_keys(records: list[Record]) -> frozenset[str]:
    """Return every top-level key some record carries (drifted records add their own)."""
    return frozenset().union(*records)


def fields_param(raw: str, known: frozenset[str]) -> set[str]:
    """Return the requested field names; refuses (400) empty lists and unknown names."""
    names = raw.split(",")  # as sent: ' bsn' is no field name, as a real system would say
    if not all(names):
        raise ApiError(400, "fields must be a comma-separated list of field names")
    unknown = sorted(set(names) - known)
    if unknown:
        raise ApiError(400, f"unknown fields: {', '.join(unknown)}")
    return set(names)
