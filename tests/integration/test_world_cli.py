"""`ketenbrug world serve | advance | faults` as a user runs them, with a real server process."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from datetime import UTC, date, datetime

import pytest
import requests
from click.testing import CliRunner

from ketenbrug.cli.world import world
from ketenbrug.simulators import is_valid_bsn, read_ground_truth

SLUGS = ("probation", "dji", "wijkteam", "care", "municipal_orders")


@pytest.fixture
def served(tmp_path):
    """A `world serve` process on a small world; yields (lines printed, state file, env)."""
    env = {**os.environ, "KETENBRUG_HOME": str(tmp_path)}
    command = [sys.executable, "-c", "from ketenbrug.cli.world import world; world()", "serve",
               "--clients", "300", "--seed", "5", "--as-of", "2026-11-29",
               "--faults", "dji:503x1", "--invalid-bsn-share", "0.05"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    lines = []
    try:
        deadline = time.monotonic() + 30
        while not any(line.startswith("state:") for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
            lines.append(process.stdout.readline().rstrip("\n"))
        yield lines, tmp_path / "world" / "server.json", env
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0, process.stderr.read()[-3000:]
    assert not (tmp_path / "world" / "server.json").exists()  # cleaned up on SIGTERM


def test_serve_prints_one_base_url_per_source_and_serves(served):
    lines, state_file, _ = served
    found = {}
    for line in lines:
        match = re.match(r"\s+(\w+)\s+(http://127\.0\.0\.1:\d+)\s+(Bearer|X-API-Key) (\S+)", line)
        if match:
            found[match[1]] = (match[2], match[3], match[4])
    assert set(found) == {*SLUGS, "admin"}
    url, scheme, token = found["dji"]
    headers = {"Authorization": f"Bearer {token}"}
    first = requests.get(f"{url}/api/v1/detentions", headers=headers, timeout=5)
    assert first.status_code == 503  # the --faults given
    assert requests.get(f"{url}/api/v1/detentions", headers=headers, timeout=5).json()["items"]
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600


def test_serve_writes_the_ground_truth(served):
    lines, _, _ = served
    (path,) = [line.split(": ", 1)[1] for line in lines if line.startswith("ground truth:")]
    persons = read_ground_truth(path)
    assert len(persons) == 300
    assert all(is_valid_bsn(p["bsn"]) is p["bsn_valid"] for p in persons)
    assert any(not p["bsn_valid"] for p in persons)


def test_advance_and_faults_reach_the_running_server(served):
    _, _, env = served
    runner = CliRunner()
    moved = runner.invoke(world, ["advance", "--days", "2"], env=env)
    assert moved.exit_code == 0, moved.output
    assert "world today 2026-12-01" in moved.output
    assert re.search(r"dji\.detentions\s+\d+ changed or new", moved.output)
    faulted = runner.invoke(world, ["faults", "probation:invalid_bsn=2"], env=env)
    assert faulted.exit_code == 0, faulted.output
    assert re.search(r"probation\.clients: invalid_bsn \S+, \S+", faulted.output)
    refused = runner.invoke(world, ["faults", "probation:teapot"], env=env)
    assert refused.exit_code != 0 and "unknown fault" in refused.output
    assert "in the future" not in moved.output  # 2026-12-01 is not after the clock
    # A day past the current date: its changes would be quarantined by the hub, and
    # advance says so rather than leaving the steward to find out.
    past_today = (datetime.now(UTC).date() - date(2026, 12, 1)).days + 1
    ahead = runner.invoke(world, ["advance", "--days", str(past_today)], env=env)
    assert ahead.exit_code == 0, ahead.output
    assert "is after the current date: its changes are stamped in the future" in ahead.output


def test_advance_without_a_running_world_says_so(tmp_path):
    result = CliRunner().invoke(world, ["advance"], env={"KETENBRUG_HOME": str(tmp_path)})
    assert result.exit_code != 0
    assert "ketenbrug world serve" in result.output


def test_serve_refuses_a_bad_fault_spec(tmp_path):
    result = CliRunner().invoke(world, ["serve", "--faults", "dji:teapot"],
                                env={"KETENBRUG_HOME": str(tmp_path)})
    assert result.exit_code == 2 and "unknown fault" in result.output
