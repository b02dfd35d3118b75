"""The ground-truth file: who the synthetic persons are, for tests that hunt for leaks.

Other rooms' tests read it to scan the hub's storage for these identities (a BSN or a full
name in clear text outside the vault is a leak). Synthetic data only.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Record = dict[str, Any]

# The columns of the file, in order; `bsn_valid` says whether the BSN passes the eleven-test.
FIELDS = (
    "bsn", "bsn_valid", "given_name", "surname", "birth_date", "street", "house_number",
    "postcode", "city", "municipality_code",
)


def write_ground_truth(persons: Iterable[Record], path: str | Path) -> Path:
    """Write `persons` to `path` and return it: CSV when it ends in `.csv`, else JSON lines.

    Parent folders are created. Refuses (ValueError) a person without one of FIELDS.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = (_row(p) for p in persons)
    with path.open("w", newline="", encoding="utf-8") as handle:
        if path.suffix == ".csv":
            writer = csv.DictWriter(handle, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows({**r, "bsn_valid": "true" if r["bsn_valid"] else "false"}
                             for r in rows)
        else:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_ground_truth(path: str | Path) -> list[Record]:
    """Return the persons in a file written by `write_ground_truth`, `bsn_valid` as bool.

    Refuses (ValueError) a file whose rows lack one of FIELDS.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        if path.suffix == ".csv":
            rows = list(csv.DictReader(handle))
            for row in rows:
                row["bsn_valid"] = row.get("bsn_valid") == "true"
        else:
            rows = [json.loads(line) for line in handle if line.strip()]
    return [_row(r) for r in rows]


def _row(person: Record) -> Record:
    missing = [f for f in FIELDS if f not in person]
    if missing:
        raise ValueError(f"ground-truth row lacks {', '.join(missing)}")
    return {f: person[f] for f in FIELDS}
