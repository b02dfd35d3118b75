"""Two runs at once, readers during a run, another world on a home: refused clearly,
never a raw lock error, never a failed run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ketenbrug import run_lock
from tests.crash.conftest import CLIENTS, SEED, demo, hub_env

pytestmark = pytest.mark.crash


def _start_demo(home: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ketenbrug.cli", "demo", "--clients", str(CLIENTS),
         "--seed", str(SEED)], env=hub_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True)


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ketenbrug.cli", *args], env=hub_env(home),
                          capture_output=True, text=True, timeout=300)


def _wait_for_holder(home: Path, running: subprocess.Popen) -> dict:
    for _ in range(600):
        holder = run_lock.current_holder(home)
        if holder and holder.get("run_id"):
            return holder
        assert running.poll() is None, running.communicate()
        time.sleep(0.1)
    raise AssertionError("the run never took the hub's run lock")


def test_a_second_run_is_refused_while_readers_come_and_go(crash_home):
    first = _start_demo(crash_home)
    holder = _wait_for_holder(crash_home, first)
    second = demo(crash_home)
    assert second.returncode == 3
    assert f"a hub run ({holder['run_id']}, started at {holder['started_at']}) is in " \
           "progress" in second.stderr
    # A reader in a loop while the run writes: every one answers, none fails the run.
    readers = []
    while first.poll() is None:
        readers.append(_cli(crash_home, "status"))
        readers.append(_cli(crash_home, "quarantine", "list"))
    out, err = first.communicate()
    assert first.returncode == 0, out[-2000:] + err[-2000:]
    assert "failed checks: none" in out
    assert readers and all("Could not set lock" not in r.stdout + r.stderr for r in readers)
    assert all(r.returncode in (0, 1, 3) for r in readers)
    # While the run writes DuckDB, status does not judge the hub (exit 3) and says who
    # writes; after it, the hub is healthy (exit 0).
    status = [r for r in readers if r.args[-1] == "status"]
    assert all(r.returncode in (0, 3) for r in status)
    assert all("is in progress" in r.stdout for r in status if r.returncode == 3)


def test_a_home_holding_another_world_is_refused(reference):
    other = demo(reference, None, "--clients", str(CLIENTS + 1))
    assert other.returncode == 1
    assert (f"holds the world of {CLIENTS} clients, seed {SEED}; this run asks for "
            f"{CLIENTS + 1} clients, seed {SEED}") in other.stderr
