"""An append-only, hash-chained log of every disclosure the hub makes.

Each entry holds the SHA-256 of the entry before it, so an altered, removed or
reordered entry breaks the chain at a point `verify_log` names. Entries describe a
disclosure (who, what fields, how many persons, why); they never hold personal values.
The chain alone cannot show that the log was cut short or rewritten whole: signed
checkpoints of its head (`privacy/checkpoints.py`) and the head carried in every
delivery manifest do.

One writer at a time: an append holds an exclusive `flock` on the log while it reads the
chain's head and writes the next entry, so processes appending at once never fork the
chain. An append reads only the log's last block (its head), not the whole log: a
delivery appends once per package, and a log that grows every run must not make every
later append slower. A writer killed mid-line leaves a torn last line; it was never a
complete entry. Readers skip it and `verify_log` reports it by line number; the next
append sets it aside in `<log>.torn` and goes on from the last complete entry, so no
entry is lost.

A damaged line inside the log (not valid UTF-8, not a JSON entry) does not stop readers:
they return the complete entries and the damaged line numbers (`read_log_contents`);
appends go on from the last complete entry, and `verify_log` names the damage and the
break it leaves in the chain. `read_log(strict=True)` refuses it instead (LogError).

The log and its folder are created owner-only (0600, 0700); an append to a log that
group or others can access is refused (FileModeError).

On the postgres profile the same lines live in a table of the warehouse database
(`privacy/log_tables.py`): every function here takes either place (`LogLocation`), and
reads, chains and verifies the lines the same way.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ketenbrug.privacy.actor import current_actor
from ketenbrug.privacy.file_modes import PRIVATE_FILE_MODE, private_dir, require_private
from ketenbrug.privacy.log_tables import PostgresLines

# Where a log's lines are: a file (embedded profile) or a table (postgres profile).
LogLocation = Path | PostgresLines

GENESIS = "0" * 64
TORN_SUFFIX = ".torn"
_TAIL_BLOCK = 64 * 1024


@dataclass(frozen=True)
class ChainBreak:
    line: int
    reason: str


@dataclass(frozen=True)
class DamagedLine:
    line: int
    reason: str  # "not valid UTF-8 at byte 12", "not a JSON entry"


@dataclass
class LogContents:
    """What a log holds: its complete entries (with their line numbers), the damaged lines
    inside it, and a torn last line."""

    entries: list[dict] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # line number of each entry
    damaged: list[DamagedLine] = field(default_factory=list)
    torn: tuple[int, bytes] | None = None  # (line number, bytes) of a write cut short


class LogError(Exception):
    """A line inside the log (not its torn tail) is not a complete entry."""


def append_entry(log_path: LogLocation, entry: dict) -> dict:
    """Append `entry` with sequence number, time, actor (privacy/actor.py, unless the
    entry names one) and chain hashes; return what was written.

    Refuses (FileModeError) a log that group or others can access.
    """
    with locked_log(log_path, whole=False) as log:
        return log.append(entry)


class LockedLog:
    """The log while its writer's lock is held: its head (and, read whole, its contents),
    appended to in order."""

    def __init__(self, log_path: LogLocation, head: dict | None,
                 write_line: Callable[[str], None], contents: LogContents | None = None
                 ) -> None:
        self.path, self.head, self._write_line = log_path, head, write_line
        self._contents = contents

    @property
    def contents(self) -> LogContents:
        if self._contents is None:
            raise RuntimeError("the log was locked for its head only (whole=False)")
        return self._contents

    def append(self, entry: dict) -> dict:
        last = self.head
        record = {
            "seq": (last["seq"] + 1) if last else 1,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "actor": current_actor().as_entry(),
            **entry,
            "prev_hash": last["hash"] if last else GENESIS,
        }
        record["hash"] = entry_hash(record)
        self._write_line(json.dumps(record, sort_keys=True))
        if self._contents is not None:
            contents = self._contents
            contents.lines.append(len(contents.entries) + len(contents.damaged) + 1)
            contents.entries.append(record)
        self.head = record
        return record


@contextmanager
def locked_log(log_path: LogLocation, *, whole: bool = True) -> Iterator[LockedLog]:
    """Hold the log's writer lock (flock on the file, or an advisory lock in PostgreSQL;
    released when the file or connection closes, or the writer dies).

    `whole=False` reads only the head, from the log's last line, unless that line cannot
    tell (torn or damaged): then the log is read whole.
    """
    if isinstance(log_path, PostgresLines):
        with log_path.locked() as lines:
            last = None if whole else lines.last_line()
            if last is not None and (head := _entry(last)) is not None:
                yield LockedLog(log_path, head, lines.append)
            else:
                contents = _parse(lines.read_bytes())
                yield LockedLog(log_path, _last(contents), lines.append, contents)
        return
    private_dir(log_path.parent)
    fd = os.open(log_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "a+b") as handle:
        require_private(log_path, what="disclosure log")
        fcntl.flock(handle, fcntl.LOCK_EX)

        def write_line(line: str) -> None:
            handle.write((line + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())

        tail = None if whole else _tail_lines(handle)
        if tail is not None and not tail.torn and tail.lines and (
                head := _entry(tail.lines[-1])) is not None:
            yield LockedLog(log_path, head, write_line)
        elif tail is not None and not tail.torn and tail.is_whole_log and not tail.lines:
            yield LockedLog(log_path, None, write_line)  # a new, empty log
        else:
            contents = _parse(_read_all(handle))
            if contents.torn is not None:
                _set_aside(log_path, handle, contents.torn)
                contents.torn = None
            yield LockedLog(log_path, _last(contents), write_line, contents)


def read_log(log_path: LogLocation, *, strict: bool = False) -> list[dict]:
    """Return every complete entry in order (empty when the log does not exist yet).

    A torn last line is not an entry and is left out; so is a damaged line inside the
    log, unless `strict`: then it is refused (LogError), naming its line.
    """
    contents = read_log_contents(log_path)
    if strict and contents.damaged:
        first = contents.damaged[0]
        raise LogError(f"{log_path}: line {first.line} is {first.reason}")
    return contents.entries


def read_log_contents(log_path: LogLocation) -> LogContents:
    """Entries, damaged lines and torn tail of the log (all empty when it does not exist)."""
    if not log_path.exists():
        return LogContents()
    return _parse(log_path.read_bytes())


def torn_tail(log_path: LogLocation) -> int | None:
    """The line number of a torn last line (a write cut short), or None."""
    torn = read_log_contents(log_path).torn
    return torn[0] if torn else None


def log_head(log_path: LogLocation) -> dict:
    """{"seq", "hash"} of the last complete entry ({"seq": 0, "hash": GENESIS} when empty).

    Reads only the log's last line unless it is damaged. What a delivery manifest
    carries as its witness of the log.
    """
    if isinstance(log_path, PostgresLines):
        last = log_path.last_line()
        if last is None or (entry := _entry(last)) is not None:
            return _head(None if last is None else entry)
        entries = read_log(log_path)
        return _head(entries[-1] if entries else None)
    if not log_path.exists():
        return _head(None)
    with log_path.open("rb") as handle:
        tail = _tail_lines(handle)  # a torn last line is left out: it was never an entry
    if tail.lines and (entry := _entry(tail.lines[-1])) is not None:
        return _head(entry)
    if not tail.lines and tail.is_whole_log:
        return _head(None)
    entries = read_log(log_path)  # a damaged last line: read it all
    return _head(entries[-1] if entries else None)


def _head(entry: dict | None) -> dict:
    return {"seq": entry["seq"], "hash": entry["hash"]} if entry else {"seq": 0, "hash": GENESIS}


def _last(contents: LogContents) -> dict | None:
    return contents.entries[-1] if contents.entries else None


@dataclass(frozen=True)
class _Tail:
    lines: list[bytes]  # the complete lines of the log's last block
    torn: bool  # the log ends in a line cut short
    is_whole_log: bool  # the block is the whole log (nothing before it was left out)


def _tail_lines(handle: BinaryIO) -> _Tail:
    """The log's last block, grown (doubled) until it holds a whole last line: an entry
    naming thousands of subjects is longer than one block, and re-reading the whole log
    for its head made each append cost the log's size."""
    size = handle.seek(0, os.SEEK_END)
    block = _TAIL_BLOCK
    while True:
        start = handle.seek(max(0, size - block))
        lines = handle.read().split(b"\n")
        torn = lines.pop() != b""  # after the last newline: empty unless a write was cut short
        if start > 0:
            lines = lines[1:]  # the block may begin mid-line
        if lines or torn or start == 0:
            return _Tail(lines, torn, start == 0)
        block *= 2


def verify_log(log_path: LogLocation) -> list[ChainBreak]:
    """Return where the chain breaks and which lines are damaged; empty means intact.

    Says nothing of a log cut short or rewritten whole: that is `log_audit.verify_audit`.
    """
    contents = read_log_contents(log_path)
    breaks = [ChainBreak(d.line, f"{d.reason} (damaged or altered; the entry it held, if "
                                 "any, is lost)") for d in contents.damaged]
    prev_hash: str | None = GENESIS
    expected_seq, prev_line = 1, 0
    for line_no, entry in zip(contents.lines, contents.entries, strict=True):
        claimed, seq = entry["hash"], entry["seq"]
        if entry_hash(entry) != claimed:
            breaks.append(ChainBreak(line_no, "entry content does not match its hash (altered)"))
        if entry.get("prev_hash") != prev_hash:
            breaks.append(ChainBreak(line_no, "previous-hash link broken (entry removed or moved)"))
        damaged_before = line_no - prev_line - 1  # each may have held one entry
        if not expected_seq <= seq <= expected_seq + damaged_before:
            breaks.append(ChainBreak(line_no, f"sequence {seq}, expected {expected_seq}"))
        # Go on from this entry's own number: one gap is one break, not one per later line.
        prev_hash, expected_seq, prev_line = claimed, seq + 1, line_no
    if contents.torn is not None:
        breaks.append(ChainBreak(contents.torn[0],
                                 "torn last line: a write cut short, never a complete "
                                 "entry; the next append sets it aside in "
                                 f"{log_path.name}{TORN_SUFFIX}"))
    return sorted(breaks, key=lambda b: b.line)


def entry_hash(record: dict) -> str:
    """SHA-256 over an entry's canonical JSON without its own `hash`."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _read_all(handle: BinaryIO) -> bytes:
    handle.seek(0)
    return handle.read()


def _parse(data: bytes) -> LogContents:
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last newline: empty unless a write was cut short
    contents = LogContents(torn=(len(lines) + 1, tail) if tail else None)
    for line_no, line in enumerate(lines, start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as bad:
            contents.damaged.append(DamagedLine(line_no, f"not valid UTF-8 at byte {bad.start}"))
            continue
        entry = _entry(text)
        if entry is None:
            contents.damaged.append(DamagedLine(line_no, "not a JSON entry"))
            continue
        contents.entries.append(entry)
        contents.lines.append(line_no)
    return contents


def _entry(line: bytes | str) -> dict | None:
    """The entry a line holds, or None: JSON, an object, with an integer seq and a hash."""
    try:
        entry = json.loads(line)
    except ValueError:  # UnicodeDecodeError included
        return None
    if (isinstance(entry, dict) and isinstance(entry.get("seq"), int)
            and not isinstance(entry.get("seq"), bool) and isinstance(entry.get("hash"), str)):
        return entry
    return None


def _set_aside(log_path: Path, handle: BinaryIO, torn: tuple[int, bytes]) -> None:
    """Move a torn last line to `<log>.torn` (with its line number), then cut it off."""
    line_no, fragment = torn
    fd = os.open(f"{log_path}{TORN_SUFFIX}", os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                 PRIVATE_FILE_MODE)
    with os.fdopen(fd, "ab") as aside:
        aside.write(f"line {line_no}: ".encode() + fragment + b"\n")
        aside.flush()
        os.fsync(aside.fileno())
    handle.truncate(_size(handle) - len(fragment))
    handle.flush()
    os.fsync(handle.fileno())


def _size(handle: BinaryIO) -> int:
    handle.seek(0, os.SEEK_END)
    return handle.tell()
