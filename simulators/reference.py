"""Reference data the simulated world is drawn from: municipalities and prisons."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

# The hub's reference folder, a resource of the package; fixed, never from the environment.
REFERENCE_DIR = Path(str(resources.files("ketenbrug") / "reference"))


class Municipality(NamedTuple):
    cbs_code: str
    name: str
    province: str
    population: int
    safety_region: str


class Prison(NamedTuple):
    code: str
    name: str
    municipality_cbs_code: str
    municipality_name: str


def _rows(filename: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / filename).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def municipalities() -> tuple[Municipality, ...]:
    """Return all municipalities from reference/municipalities.csv, sorted by CBS code."""
    rows = [
        Municipality(
            r["cbs_code"], r["name"], r["province"], int(r["population"]), r["safety_region"]
        )
        for r in _rows("municipalities.csv")
    ]
    return tuple(sorted(rows))


@cache
def prisons() -> tuple[Prison, ...]:
    """Return all prison locations from reference/prisons.csv, sorted by code."""
    rows = [
        Prison(r["code"], r["name"], r["municipality_cbs_code"], r["municipality_name"])
        for r in _rows("prisons.csv")
    ]
    return tuple(sorted(rows))
