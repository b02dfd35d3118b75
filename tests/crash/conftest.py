"""The crash suite's harness: the demo run as an operator would, killed with SIGKILL
(its whole process group) at a named point, then run again.

Every home starts from the same keys as a clean reference run, so the marts of a crashed
and rerun hub can be compared with the reference's row for row.

Under pytest-xdist (`--dist loadfile`) each module runs on one worker, and each worker
that runs one makes its own `reference`. A kill can never reach a worker or the pytest run:
every hub starts in a session of its own (start_new_session), and a failpoint kills only
its own process group, the session's.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

CLIENTS, SEED = 200, 3131
_HUB_VARS = ("KETENBRUG_WAREHOUSE", "KETENBRUG_VAULT", "KETENBRUG_KEYS_DIR", "DAGSTER_HOME",
             "KETENBRUG_OUTBOX", "KETENBRUG_DISCLOSURE_LOG", "KETENBRUG_DELIVERY_URL",
             "KETENBRUG_FAILPOINT")
# Columns that differ between two runs of the same data: ids and times of the run itself.
VOLATILE = {"_batch_id", "_received_at", "batch_id", "received_at", "run_id", "built_at"}


def hub_env(home: Path, failpoint: str | None = None) -> dict[str, str]:
    """The environment of a hub process on `home`: none of the hub variables an earlier
    in-process run in this worker left behind (the dbt asset sets KETENBRUG_WAREHOUSE),
    and a failpoint only where asked."""
    env = {k: v for k, v in os.environ.items() if k not in _HUB_VARS}
    env["KETENBRUG_HOME"] = str(home)
    if failpoint:
        env["KETENBRUG_FAILPOINT"] = failpoint
    return env


def demo(home: Path, failpoint: str | None = None, *args: str,
         timeout: int = 900) -> subprocess.CompletedProcess:
    """`ketenbrug demo` in a session of its own, so a kill takes its whole group and no more."""
    return subprocess.run(
        [sys.executable, "-m", "ketenbrug.cli", "demo", "--clients", str(CLIENTS),
         "--seed", str(SEED), *args], env=hub_env(home, failpoint), capture_output=True,
        text=True, timeout=timeout, start_new_session=True)


def cli(home: Path, *args: str, failpoint: str | None = None) -> subprocess.CompletedProcess:
    """Any `ketenbrug` command against `home`, optionally killed at `failpoint`."""
    return subprocess.run([sys.executable, "-m", "ketenbrug.cli", *args],
                          env=hub_env(home, failpoint), capture_output=True, text=True,
                          timeout=600, start_new_session=True)


def killed(done: subprocess.CompletedProcess) -> bool:
    return done.returncode == -signal.SIGKILL


def marts(home: Path) -> dict[str, list[tuple]]:
    """Every table in the warehouse's main schema (marts and seeds), rows sorted."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' "
            "and table_type = 'BASE TABLE' order by 1").fetchall()]
        out = {}
        for table in tables:
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_schema = "
                "'main' and table_name = ? order by ordinal_position", [table]).fetchall()
                if c not in VOLATILE]
            rows = con.execute(f"select {', '.join(columns)} from main.{table}").fetchall()
            out[table] = sorted(rows, key=repr)
    return out


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Path:
    """A clean run: what every crashed-then-rerun hub must equal."""
    home = tmp_path_factory.mktemp("reference")
    done = demo(home)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return home


@pytest.fixture
def crash_home(tmp_path, reference) -> Path:
    """An empty home holding the reference run's keys."""
    home = tmp_path / "hub"
    home.mkdir()
    shutil.copytree(reference / "keys", home / "keys")
    return home
