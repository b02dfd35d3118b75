"""One writer at a time per hub home: the hub run lock.

A run (and every command that writes the warehouse, the vault or the log: quarantine
decisions, retention, key rotation) holds an exclusive `flock` on `<home>/run.lock` for
its whole length, with who holds it written inside. The operating system releases the
lock when the holder dies, even by kill -9, so a dead run never blocks the next one.
Readers ask `current_holder` and stay off the warehouse while a run writes it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = "run.lock"
# Set to the holder's pid while a process holds the lock, so the Dagster run it executes
# in-process does not try to take the lock a second time.
HELD_BY_ENV = "KETENBRUG_RUN_LOCK_HELD_BY"


class HubBusy(Exception):
    """Another run or writing command holds this hub's run lock."""

    def __init__(self, holder: dict) -> None:
        self.holder = holder
        super().__init__(describe(holder))


def describe(holder: dict) -> str:
    """'a hub run (<run id>, started at <time>) is in progress', from a holder record."""
    what = holder.get("what", "hub run")
    ident = holder.get("run_id") or f"pid {holder.get('pid', '?')}"
    return f"a {what} ({ident}, started at {holder.get('started_at', '?')}) is in progress"


@contextmanager
def hold(home: Path, what: str = "hub run", run_id: str | None = None) -> Iterator[dict]:
    """Hold the hub's run lock for the block; refuse (HubBusy) when someone else holds it.

    Yields the holder record; set its `run_id` once known and call `announce` to publish it.
    """
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HubBusy(_read(fd)) from None
        holder = {"what": what, "run_id": run_id, "pid": os.getpid(),
                  "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        _write(fd, holder)
        previous = os.environ.get(HELD_BY_ENV)
        os.environ[HELD_BY_ENV] = str(os.getpid())
        try:
            yield holder
        finally:
            if previous is None:
                os.environ.pop(HELD_BY_ENV, None)
            else:
                os.environ[HELD_BY_ENV] = previous
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def announce(home: Path, holder: dict) -> None:
    """Rewrite the holder record (e.g. with the run id Dagster gave the run)."""
    fd = os.open(home / LOCK_FILE, os.O_RDWR)
    try:
        _write(fd, holder)
    finally:
        os.close(fd)


def current_holder(home: Path) -> dict | None:
    """Who holds the run lock now, or None when nobody does (never waits, never blocks)."""
    path = home / LOCK_FILE
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd) or {"what": "hub run"}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def wait_until_free(home: Path, seconds: float,
                    say: Callable[[str], None] | None = None) -> dict | None:
    """Wait up to `seconds` for the run lock to be free; return the holder if still held."""
    holder = current_holder(home)
    if holder and say:
        say(f"{describe(holder)}: waiting up to {seconds:.0f} s for it to finish")
    deadline = time.monotonic() + seconds
    while holder and time.monotonic() < deadline:
        time.sleep(0.5)
        holder = current_holder(home)
    return holder


def _write(fd: int, holder: dict) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode(), 0)


def _read(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:  # being rewritten this very moment
        return {}
