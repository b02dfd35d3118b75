"""An append-only, hash-chained log of every disclosure the hub makes.

Each entry holds the SHA-256 of the entry before it, so an altered, removed or
reordered entry breaks the chain at a point `verify_log` names. Entries describe a
disclosure (who, what fields, how many persons, why); they never hold personal values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainBreak:
    line: int
    reason: str


def append_entry(log_path: Path, entry: dict) -> dict:
    """Append `entry` with sequence number, time and chain hashes; return what was written."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    last = _last_entry(log_path)
    record = {
        "seq": (last["seq"] + 1) if last else 1,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        **entry,
        "prev_hash": last["hash"] if last else GENESIS,
    }
    record["hash"] = _digest(record)
    with log_path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
    return record


def read_log(log_path: Path) -> list[dict]:
    """Return every entry in order (empty when the log does not exist yet)."""
    if not log_path.exists():
        return []
    return [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()]


def verify_log(log_path: Path) -> list[ChainBreak]:
    """Return where the chain breaks; an empty list means the log is intact."""
    breaks: list[ChainBreak] = []
    prev_hash: str | None = GENESIS
    expected_seq = 1
    for line_no, entry in enumerate(read_log(log_path), start=1):
        claimed = entry.get("hash")
        if _digest({k: v for k, v in entry.items() if k != "hash"}) != claimed:
            breaks.append(ChainBreak(line_no, "entry content does not match its hash (altered)"))
        if entry.get("prev_hash") != prev_hash:
            breaks.append(ChainBreak(line_no, "previous-hash link broken (entry removed or moved)"))
        if entry.get("seq") != expected_seq:
            breaks.append(ChainBreak(
                line_no, f"sequence {entry.get('seq')}, expected {expected_seq}"))
        prev_hash, expected_seq = claimed, expected_seq + 1
    return breaks


def _last_entry(log_path: Path) -> dict | None:
    entries = read_log(log_path)
    return entries[-1] if entries else None


def _digest(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
