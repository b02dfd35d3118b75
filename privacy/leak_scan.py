"""The leak guard: look for any identity outside the vault and the sealed packages.

It reads every warehouse table (every text column of every table in every schema but
the system's, on DuckDB and on PostgreSQL alike) and every unsealed file under the hub's
folders (Dagster run and event storage, logs, dbt artefacts, reports) in two ways:

- With ground truth (the demo's synthetic world: TruthIndex), each place where one of
  its BSNs, full names, or a date of birth next to that person's surname appears.
- Without it, as on a production hub (DetectorScan): the identity detectors
  (privacy.identity_detection) and the vault. What counts as a leak is what cannot be a
  false alarm, or what the boundary should have withheld: a 9-digit token anywhere that
  is a vault person's BSN (`known_bsn`, exact), and any detector's find in a landed
  free-text column. A valid-looking BSN or an IBAN elsewhere is a warning: structured
  columns and Dagster's storage are full of numbers, and one random 9-digit number in
  eleven passes the eleven-test; dates, phone-like numbers and postcodes outside free
  text are not reported at all (every event has a date).

Hits name the place and the kind, never the value found.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ketenbrug.databases import Target, open_database
from ketenbrug.privacy.bsn import is_valid_bsn
from ketenbrug.privacy.identity_detection import (
    KnownBsns,
    find_identities,
    nine_digit_numbers,
)

_BSN_TOKEN = re.compile(r"(?<!\d)\d{9}(?!\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_WINDOW = 120  # characters either side of a birth date in which a surname counts
SEALED_SUFFIXES = (".kbpkg", ".key", ".pub")


@dataclass(frozen=True)
class LeakHit:
    place: str  # "warehouse landing.x.column" or a file path
    kind: str  # "bsn" | "full_name" | "birth_date_with_name" | a detector rule
    count: int

    def describe(self) -> str:
        return f"{self.kind} x{self.count} in {self.place}"


class TruthIndex:
    """The identities to look for, indexed for one linear pass over any text."""

    def __init__(self, persons: Iterable[Mapping[str, str]]):
        self.bsns: set[str] = set()
        self.full_names: set[tuple[str, ...]] = set()
        self.first_words: set[str] = set()
        self.surnames_by_birth_date: dict[str, set[tuple[str, ...]]] = {}
        for person in persons:
            self.bsns.add(str(person["bsn"]))
            name = tuple(_words(f"{person['given_name']} {person['surname']}"))
            self.full_names.add(name)
            self.first_words.add(name[0])
            surname = tuple(_words(person["surname"]))
            self.surnames_by_birth_date.setdefault(str(person["birth_date"]), set()).add(surname)
        self.longest_name = max((len(n) for n in self.full_names), default=0)

    def scan(self, text: str) -> Counter:
        """Count identities in `text` by kind."""
        hits: Counter = Counter()
        hits["bsn"] = sum(1 for m in _BSN_TOKEN.finditer(text) if m.group() in self.bsns)
        words = _words(text)
        for i, word in enumerate(words):
            if word in self.first_words and any(
                    tuple(words[i:i + n]) in self.full_names
                    for n in range(2, self.longest_name + 1)):
                hits["full_name"] += 1
        for match in _DATE.finditer(text):
            surnames = self.surnames_by_birth_date.get(match.group())
            if surnames:
                near = " " + " ".join(_words(text[max(0, match.start() - _WINDOW):
                                                  match.end() + _WINDOW])) + " "
                if any(" " + " ".join(s) + " " in near for s in surnames):
                    hits["birth_date_with_name"] += 1
        return +hits


def scan_warehouse(warehouse: Target, truth: TruthIndex) -> list[LeakHit]:
    """Every text column of every table in the warehouse."""
    return [LeakHit(f"warehouse {place}", kind, n)
            for place, values in _warehouse_texts(warehouse)
            for kind, n in truth.scan("\n".join(values)).items()]


@dataclass(frozen=True)
class DetectorReport:
    leaks: list[LeakHit]
    warnings: list[LeakHit]


class DetectorScan:
    """The scan without ground truth: identity detectors plus the vault look-up.

    `free_text` maps "schema.table.column" of each landed free-text column to its
    functional mailbox roles (from the manifests). Numbers are gathered from every place
    first and the vault is asked once for all of them, in `report`.
    """

    def __init__(self, known: KnownBsns, free_text: Mapping[str, Iterable[str]] | None = None):
        self._known = known
        self._free_text = {place: tuple(roles) for place, roles in (free_text or {}).items()}
        self._numbers: dict[str, Counter] = {}  # place -> 9-digit tokens found there
        self._free_text_places: set[str] = set()
        self._leaks: list[LeakHit] = []
        self._warnings: list[LeakHit] = []

    def add_warehouse(self, warehouse: Target) -> None:
        """Every text column of every table in the warehouse."""
        for column, values in _warehouse_texts(warehouse):
            place, roles = f"warehouse {column}", self._free_text.get(column)
            if roles is not None:
                self._free_text_places.add(place)
                rules = Counter(r for v in values for r in find_identities(v, mailbox_roles=roles)
                                if r != "known_bsn")  # decided in report(), with the vault
                self._leaks += [LeakHit(place, rule, n) for rule, n in sorted(rules.items())]
            else:
                self._warn_iban(place, sum(bool(_ibans(v)) for v in values))
            self._numbers[place] = Counter(n for v in values for n in nine_digit_numbers(v))

    def add_files(self, roots: Iterable[Path], skip: Iterable[Path] = ()) -> None:
        """Every file under `roots` except `skip` and sealed packages and keys."""
        for path in _files(roots, skip):
            text = path.read_bytes().decode("utf-8", errors="ignore")
            self._warn_iban(str(path), int(bool(_ibans(text))))
            self._numbers[str(path)] = Counter(nine_digit_numbers(text))

    def report(self) -> DetectorReport:
        """Leaks and warnings so far; the vault is asked here, once for every place."""
        known = self._known.among({n for c in self._numbers.values() for n in c})
        leaks, warnings = list(self._leaks), list(self._warnings)
        for place, numbers in self._numbers.items():
            if n := sum(c for number, c in numbers.items() if number in known):
                leaks.append(LeakHit(place, "known_bsn", n))
            if place in self._free_text_places:
                continue  # the detectors' `bsn` there is a leak already
            if n := sum(c for number, c in numbers.items()
                        if number not in known and is_valid_bsn(number)):
                warnings.append(LeakHit(place, "bsn", n))
        return DetectorReport(leaks=leaks, warnings=sorted(warnings, key=lambda h: h.place))

    def _warn_iban(self, place: str, count: int) -> None:
        if count:
            self._warnings.append(LeakHit(place, "iban", count))


def _ibans(text: str) -> list[str]:
    return find_identities(text, only=("iban",))


# Text column types as information_schema names them: DuckDB's VARCHAR, PostgreSQL's
# text, character varying and character.
_TEXT_TYPES = ("VARCHAR", "TEXT", "CHARACTER VARYING", "CHARACTER")
# PostgreSQL's own schemas (its catalog, information_schema, TOAST and temporary ones).
_SYSTEM_SCHEMAS = ("c.table_schema not in ('pg_catalog', 'information_schema') "
                   "and left(c.table_schema, 3) <> 'pg_'")


def _warehouse_texts(warehouse: Target) -> list[tuple[str, list[str]]]:
    """("schema.table.column", distinct values) of every text column of every table, in
    every schema but the system's (one query for DuckDB and PostgreSQL)."""
    found = []
    text_types = ", ".join(f"'{t}'" for t in _TEXT_TYPES)
    with open_database(warehouse, read_only=True) as con:
        columns = con.execute(
            "select c.table_schema, c.table_name, c.column_name "  # noqa: S608 (constants)
            "from information_schema.columns c "
            "join information_schema.tables t using (table_schema, table_name) "
            f"where t.table_type = 'BASE TABLE' and upper(c.data_type) in ({text_types}) "
            f"and {_SYSTEM_SCHEMAS} order by 1, 2, 3"
        ).fetchall()
        for schema, table, column in columns:
            values = con.execute(
                f'select distinct "{column}" from "{schema}"."{table}" '  # noqa: S608 (catalog names)
                f'where "{column}" is not null').fetchall()
            found.append((f"{schema}.{table}.{column}", [v for (v,) in values]))
    return found


def scan_files(roots: Iterable[Path], truth: TruthIndex,
               skip: Iterable[Path] = ()) -> list[LeakHit]:
    """Every file under `roots` except `skip` and sealed packages and keys."""
    hits = []
    for path in _files(roots, skip):
        text = path.read_bytes().decode("utf-8", errors="ignore")
        hits += [LeakHit(str(path), kind, n) for kind, n in truth.scan(text).items()]
    return hits


def _files(roots: Iterable[Path], skip: Iterable[Path]) -> list[Path]:
    skipped = {p.resolve() for p in skip}
    found = []
    for root in roots:
        if root.exists():
            found += [p for p in sorted(root.rglob("*")) if p.is_file()
                      and p.resolve() not in skipped and p.suffix not in SEALED_SUFFIXES]
    return found


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]
