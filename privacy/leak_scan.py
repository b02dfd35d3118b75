"""The leak guard: look for any known identity outside the vault and the sealed packages.

Given the identities that exist (in the demo and tests: the synthetic world's ground
truth), it reads every warehouse table and every unsealed file under the hub's folders
(Dagster run and event storage, logs, dbt artefacts, reports) and reports each place
where a BSN, a full name, or a date of birth next to that person's surname appears.
Hits name the place and the kind, never the value found.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

_BSN_TOKEN = re.compile(r"(?<!\d)\d{9}(?!\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_WINDOW = 120  # characters either side of a birth date in which a surname counts
SEALED_SUFFIXES = (".kbpkg", ".key", ".pub")


@dataclass(frozen=True)
class LeakHit:
    place: str  # "warehouse landing.x.column" or a file path
    kind: str  # "bsn" | "full_name" | "birth_date_with_name"
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


def scan_warehouse(warehouse_path: Path, truth: TruthIndex) -> list[LeakHit]:
    """Every text column of every table in the warehouse."""
    hits = []
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        columns = con.execute(
            "select c.table_schema, c.table_name, c.column_name from information_schema.columns c "
            "join information_schema.tables t using (table_schema, table_name) "
            "where t.table_type = 'BASE TABLE' and c.data_type = 'VARCHAR' order by 1, 2, 3"
        ).fetchall()
        for schema, table, column in columns:
            values = con.execute(
                f'select distinct "{column}" from "{schema}"."{table}" '  # noqa: S608 (catalog names)
                f'where "{column}" is not null').fetchall()
            found = truth.scan("\n".join(v for (v,) in values))
            hits += [LeakHit(f"warehouse {schema}.{table}.{column}", kind, n)
                     for kind, n in found.items()]
    return hits


def scan_files(roots: Iterable[Path], truth: TruthIndex,
               skip: Iterable[Path] = ()) -> list[LeakHit]:
    """Every file under `roots` except `skip` and sealed packages and keys."""
    skipped = {p.resolve() for p in skip}
    hits = []
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.resolve() in skipped or path.suffix in SEALED_SUFFIXES:
                continue
            text = path.read_bytes().decode("utf-8", errors="ignore")
            hits += [LeakHit(str(path), kind, n) for kind, n in truth.scan(text).items()]
    return hits


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]
