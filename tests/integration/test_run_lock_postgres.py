"""On the postgres profile a writing command never interleaves with a run launched
anywhere: from the UI, a schedule, or on Celery workers of other machines, where the
home's run.lock holds nothing (ketenbrug/run_lock_postgres.py).

Each test runs the real CLI against a hub whose warehouse, vault and Dagster storage are
databases of their own (tests/postgres.py: postgres_profile_env). A step of a run is a
process holding the warehouse's lock as HubStorage holds it for every step; a run between
two steps is a STARTED run on the Dagster instance. Skipped without a server, except under
CI=true.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest

from ketenbrug.config import Settings
from ketenbrug.databases import PostgresTarget, open_postgres
from tests.postgres import postgres_profile_env

pytestmark = pytest.mark.postgres

HUB_VARS = ("KETENBRUG_HOME", "DAGSTER_HOME")
STEP = """
import sys, time
from ketenbrug.databases import PostgresTarget
from ketenbrug.run_lock_postgres import step_holds
with step_holds(PostgresTarget.from_url(sys.argv[1])):
    print("step running", flush=True)
    time.sleep(600)
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """(environment of the CLI, the warehouse) of a hub on the postgres profile."""
    home = tmp_path_factory.mktemp("pg_hub")
    with postgres_profile_env() as env:
        env = {**{k: v for k, v in os.environ.items() if k not in HUB_VARS}, **env,
               "KETENBRUG_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home")}
        settings = Settings.load(environ=env)
        yield env, settings


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ketenbrug.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _drop(env: dict) -> subprocess.CompletedProcess:
    return _cli(env, "quarantine", "drop", "no-such-batch", "--reason", "test")


def _start_step(warehouse: PostgresTarget) -> subprocess.Popen:
    step = subprocess.Popen([sys.executable, "-c", STEP, warehouse.url],
                            stdout=subprocess.PIPE, text=True)
    assert step.stdout is not None and step.stdout.readline() == "step running\n"
    return step


def _waiting_for_advisory_locks(warehouse: PostgresTarget) -> int:
    with open_postgres(warehouse) as con:
        row = con.execute("select count(*) from pg_locks where locktype = 'advisory' "
                          "and not granted and database = (select oid from pg_database "
                          "where datname = current_database())").fetchone()
    return row[0] if row else 0


def test_a_writing_command_is_refused_while_a_step_runs_and_proceeds_once_it_is_killed(hub):
    env, settings = hub
    free = _drop(env)  # nothing runs: the command goes on, to find no such batch
    assert free.returncode == 1 and "no-such-batch" in free.stderr, free.stderr
    step = _start_step(settings.warehouse)
    try:
        refused = _drop(env)
        assert refused.returncode == 3, refused.stderr
        assert "is in progress; `quarantine drop` was not started" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        step.send_signal(signal.SIGKILL)
        step.wait()
    after = _drop(env)  # the server let go of the killed step's lock
    assert after.returncode == 1 and "no-such-batch" in after.stderr, after.stderr


def test_a_step_that_starts_while_a_writer_holds_the_warehouse_waits_for_it(hub):
    from ketenbrug.run_lock_postgres import writer_holds

    _, settings = hub
    with writer_holds(settings.warehouse, list):
        step = subprocess.Popen([sys.executable, "-c", STEP, settings.warehouse.url],
                                stdout=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while _waiting_for_advisory_locks(settings.warehouse) == 0:
                assert step.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        except BaseException:
            step.kill()
            raise
    try:
        assert step.stdout is not None and step.stdout.readline() == "step running\n"
    finally:
        step.kill()
        step.wait()


def test_a_writing_command_is_refused_while_the_instance_has_a_run_between_steps(hub):
    """A run is in progress on the Dagster instance while none of its steps runs: refused,
    naming the run. A `ketenbrug run` of this machine whose process is gone is not."""
    from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

    from ketenbrug.cli.instance import write_instance
    from ketenbrug.stewardship.writers import HOST_TAG, PID_TAG

    env, settings = hub
    write_instance(settings)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    killed_run, live_run = str(uuid.uuid4()), str(uuid.uuid4())
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        instance.add_run(DagsterRun(job_name="hub", run_id=killed_run,
                                    status=DagsterRunStatus.STARTED,
                                    tags={PID_TAG: gone, HOST_TAG: socket.gethostname()}))
        passed = _drop(env)
        assert passed.returncode == 1 and "no-such-batch" in passed.stderr, passed.stderr
        instance.add_run(DagsterRun(job_name="hub", run_id=live_run,
                                    status=DagsterRunStatus.STARTED))
        try:
            refused = _drop(env)
        finally:
            for run_id in (killed_run, live_run):
                instance.delete_run(run_id)
    assert refused.returncode == 3, refused.stderr
    assert f"Dagster run of job hub ({live_run}, started at " in refused.stderr
    assert "`quarantine drop` was not started" in refused.stderr
