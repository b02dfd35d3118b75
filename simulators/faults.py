"""Fault injection on demand: the FaultSpec grammar and the per-source request counters.

Grammar (documented in API.md), items separated by commas:

    <source>[.<dataset>]:<fault>[=<value>][x<times>]

Transport faults (answered by the request handlers for the first `times` requests, default
1, `x*` for every request, then the system behaves again, so a retrying client recovers):
`429` (value: Retry-After seconds, default 1), `500`, `503`, `slow` (value: delay in
seconds, default 2.0), `drop`, `truncated`, `malformed`, `mis_encoded` (Latin-1 bytes declared
UTF-8), `page_twice` (counts only requests for a page after the first). Data faults
(alter `value` served records, default 1, `=*` for all, deterministically; the server
reports the keys): `invalid_bsn`, `duplicate`, `future_date`, `csv_formula`,
`sql_injection`, `oversized`, `drift_renamed`, `drift_missing`, `drift_extra`, `drift_type`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

SOURCE_DATASETS = {
    "probation": ("clients", "orders"),
    "dji": ("detentions",),
    "wijkteam": ("involvements",),
    "care": ("episodes",),
    "municipal_orders": ("agreements", "bookings"),
}
TRANSPORT_FAULTS = (
    "429", "500", "503", "slow", "drop", "truncated", "malformed", "mis_encoded", "page_twice",
)
DATA_FAULTS = (
    "invalid_bsn", "duplicate", "future_date", "csv_formula", "sql_injection", "oversized",
    "drift_renamed", "drift_missing", "drift_extra", "drift_type",
)
# Datasets whose records carry a BSN; `invalid_bsn` applies only to them.
BSN_DATASETS = frozenset({
    "probation.clients", "dji.detentions", "wijkteam.involvements", "care.episodes",
})
DEFAULT_RETRY_AFTER_S = 1
DEFAULT_DELAY_S = 2.0
_ITEM = re.compile(
    r"(?P<source>[a-z_]+)(?:\.(?P<dataset>[a-z_]+))?:(?P<kind>[a-z0-9_]+?)"
    r"(?:=(?P<value>[0-9.]+|\*))?(?:x(?P<times>[0-9]+|\*))?"
)


@dataclass(frozen=True)
class Fault:
    """One fault: where (source, dataset or None for all), what, how often or how many.

    `times`: requests a transport fault answers (None: all); `count`: records a data fault
    alters (None: all); `value`: the transport fault's parameter (Retry-After, delay).
    """

    source: str
    dataset: str | None
    kind: str
    times: int | None = 1
    count: int | None = 1
    value: float | None = None

    @property
    def is_transport(self) -> bool:
        return self.kind in TRANSPORT_FAULTS

    def datasets(self) -> tuple[str, ...]:
        """Return the datasets this fault applies to (a data fault skips those it cannot)."""
        names = (self.dataset,) if self.dataset else SOURCE_DATASETS[self.source]
        if self.kind == "invalid_bsn":
            names = tuple(n for n in names if f"{self.source}.{n}" in BSN_DATASETS)
        return names

    def __str__(self) -> str:
        target = f"{self.source}.{self.dataset}" if self.dataset else self.source
        if self.is_transport:
            value = "" if self.value is None else f"={self.value:g}"
            return f"{target}:{self.kind}{value}x{'*' if self.times is None else self.times}"
        return f"{target}:{self.kind}={'*' if self.count is None else self.count}"


@dataclass(frozen=True)
class FaultSpec:
    """A set of faults, parsed from the grammar above; the empty spec injects nothing."""

    faults: tuple[Fault, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        """Return the spec `text` describes; refuses (ValueError) unknown sources, datasets
        and faults, values a fault does not take, and `invalid_bsn` where no BSN is served."""
        items = [part.strip() for part in (text or "").split(",") if part.strip()]
        return cls(tuple(_parse_item(item) for item in items))

    def transport(self, source: str) -> tuple[Fault, ...]:
        """Return the transport faults of `source`, in spec order."""
        return tuple(f for f in self.faults if f.source == source and f.is_transport)

    def data(self, source: str) -> tuple[Fault, ...]:
        """Return the data faults of `source`, in spec order."""
        return tuple(f for f in self.faults if f.source == source and not f.is_transport)

    def __str__(self) -> str:
        return ",".join(str(f) for f in self.faults)


def _parse_item(item: str) -> Fault:
    match = _ITEM.fullmatch(item)
    if match is None:
        raise ValueError(f"fault {item!r} is not <source>[.<dataset>]:<fault>[=<value>][x<n>]")
    source, dataset, kind = match["source"], match["dataset"], match["kind"]
    value, times = match["value"], match["times"]
    if source not in SOURCE_DATASETS:
        raise ValueError(f"fault {item!r}: unknown source {source!r}")
    if dataset is not None and dataset not in SOURCE_DATASETS[source]:
        raise ValueError(f"fault {item!r}: {source} has no dataset {dataset!r}")
    if kind in DATA_FAULTS:
        if times is not None:
            raise ValueError(f"fault {item!r}: a data fault takes =<records>, not x<times>")
        fault = Fault(source, dataset, kind, count=_whole(item, value, default=1))
        if not fault.datasets():
            raise ValueError(f"fault {item!r}: {source} serves no BSN there")
        return fault
    if kind not in TRANSPORT_FAULTS:
        known = ", ".join(TRANSPORT_FAULTS + DATA_FAULTS)
        raise ValueError(f"fault {item!r}: unknown fault {kind!r}; known: {known}")
    number = None
    if kind == "429":
        if value == "*":
            raise ValueError(f"fault {item!r}: Retry-After must be a number of seconds")
        seconds = _whole(item, value, default=DEFAULT_RETRY_AFTER_S, low=0)
        assert seconds is not None  # "*" is refused above
        number = float(seconds)
    elif kind == "slow":
        number = DEFAULT_DELAY_S if value is None else _seconds(item, value)
    elif value is not None:
        raise ValueError(f"fault {item!r}: {kind} takes no value")
    return Fault(source, dataset, kind, times=_whole(item, times, default=1), value=number)


def _whole(item: str, raw: str | None, default: int, low: int = 1) -> int | None:
    """Return `raw` as a whole number (None for '*'); refuses fractions and numbers below
    `low`."""
    if raw is None:
        return default
    if raw == "*":
        return None
    if not raw.isdigit() or int(raw) < low:
        raise ValueError(f"fault {item!r}: {raw!r} is not a whole number of at least {low}")
    return int(raw)


def _seconds(item: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"fault {item!r}: {raw!r} is not a number of seconds") from None


class TransportFaults:
    """The transport faults one source still has to serve; thread-safe.

    `served` lists (kind, path) of every fault served, in order, for tests and the CLI.
    """

    def __init__(self, faults: tuple[Fault, ...] = ()) -> None:
        self._pending = list(faults)
        self._left: list[int | None] = [f.times for f in faults]  # requests each still answers
        self._lock = threading.Lock()
        self.served: list[tuple[str, str]] = []

    def take(self, dataset: str, path: str, later_page: bool) -> Fault | None:
        """Return the first fault still due for a request to `dataset`, counting it served;
        None when the request should be answered normally."""
        with self._lock:
            for index, fault in enumerate(self._pending):
                left = self._left[index]
                if left == 0 or (fault.dataset is not None and fault.dataset != dataset):
                    continue
                if fault.kind == "page_twice" and not later_page:
                    continue
                if left is not None:
                    self._left[index] = left - 1
                self.served.append((fault.kind, path))
                return fault
        return None
