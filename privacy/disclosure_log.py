"""An append-only, hash-chained log of every disclosure the hub makes.

Each entry holds the SHA-256 of the entry before it, so an altered, removed or
reordered entry breaks the chain at a point `verify_log` names. Entries describe a
disclosure (who, what fields, how many persons, why); they never hold personal values.

One writer at a time: an append holds an exclusive `flock` on the log while it reads the
chain's head and writes the next entry, so processes appending at once never fork the
chain. A writer killed mid-line leaves a torn last line; it was never a complete entry.
Readers skip it and `verify_log` reports it by line number; the next append sets it aside
in `<log>.torn` and goes on from the last complete entry, so no entry is lost.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

GENESIS = "0" * 64


@dataclass(frozen=True)
class ChainBreak:
    line: int
    reason: str


class LogError(Exception):
    """A line inside the log (not its torn tail) is not a complete entry."""


def append_entry(log_path: Path, entry: dict) -> dict:
    """Append `entry` with sequence number, time and chain hashes; return what was written."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or the writer dies
        entries, torn = _parse(log_path, _read_all(handle))
        if torn is not None:
            _set_aside(log_path, handle, torn)
        last = entries[-1] if entries else None
        record = {
            "seq": (last["seq"] + 1) if last else 1,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            **entry,
            "prev_hash": last["hash"] if last else GENESIS,
        }
        record["hash"] = _digest(record)
        handle.write((json.dumps(record, sort_keys=True) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    return record


def read_log(log_path: Path) -> list[dict]:
    """Return every complete entry in order (empty when the log does not exist yet).

    A torn last line is not an entry and is left out; refuses (LogError) a broken line
    anywhere else, naming it.
    """
    if not log_path.exists():
        return []
    return _parse(log_path, log_path.read_bytes())[0]


def torn_tail(log_path: Path) -> int | None:
    """The line number of a torn last line (a write cut short), or None."""
    if not log_path.exists():
        return None
    torn = _parse(log_path, log_path.read_bytes())[1]
    return torn[0] if torn else None


def verify_log(log_path: Path) -> list[ChainBreak]:
    """Return where the chain breaks; an empty list means the log is intact."""
    breaks: list[ChainBreak] = []
    prev_hash: str | None = GENESIS
    expected_seq = 1
    torn = torn_tail(log_path)
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
    if torn is not None:
        breaks.append(ChainBreak(torn, "torn last line: a write cut short, never a complete "
                                       "entry; the next append sets it aside in "
                                       f"{log_path.name}{TORN_SUFFIX}"))
    return breaks


TORN_SUFFIX = ".torn"


def _read_all(handle) -> bytes:
    handle.seek(0)
    return handle.read()


def _parse(log_path: Path, data: bytes) -> tuple[list[dict], tuple[int, bytes] | None]:
    """(complete entries, (line number, bytes) of a torn last line or None)."""
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last newline: empty unless a write was cut short
    entries = []
    for line_no, line in enumerate(lines, start=1):
        try:
            entries.append(json.loads(line.decode("utf-8")))
        except ValueError:
            raise LogError(f"{log_path}: line {line_no} is not a complete entry") from None
    return entries, ((len(lines) + 1, tail) if tail else None)


def _set_aside(log_path: Path, handle, torn: tuple[int, bytes]) -> None:
    """Move a torn last line to `<log>.torn` (with its line number), then cut it off."""
    line_no, fragment = torn
    with open(f"{log_path}{TORN_SUFFIX}", "ab") as aside:
        aside.write(f"line {line_no}: ".encode() + fragment + b"\n")
        aside.flush()
        os.fsync(aside.fileno())
    handle.truncate(_size(handle) - len(fragment))
    handle.flush()
    os.fsync(handle.fileno())


def _size(handle) -> int:
    handle.seek(0, os.SEEK_END)
    return handle.tell()


def _digest(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
