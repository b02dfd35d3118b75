"""Dagster's own scale-out, as the production profile configures it.

- The run queue: the instance `ketenbrug` writes starts one run per source at a time and
  several sources in parallel (a tag limit per unique value), and the ingest jobs carry
  that tag.
- Celery on the local RabbitMQ: a job on the executor `executor_for` builds for
  `KETENBRUG_EXECUTOR=celery` runs its steps on a real `dagster-celery` worker, both on the
  production instance's PostgreSQL storage. Without a reachable broker or server the test
  is skipped with the reason, except under CI=true.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance, execute_job, reconstructable

from ketenbrug.cli.instance import write_instance
from ketenbrug.config import Settings
from ketenbrug.pipelines.definitions import PRELOADED_MODULES
from ketenbrug.pipelines.schedules import INGEST_JOBS, SOURCE_TAG
from tests.celery_job import (
    DEADLINE,
    QUEUE,
    celery_settings,
    multiprocess_settings,
    one_forked_step,
    two_steps,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_run_queue_starts_one_pull_per_source_and_sources_in_parallel(
        tmp_path, pg_database):
    """On the production instance, with its storage on PostgreSQL (dagster-postgres)."""
    settings = Settings.for_home(tmp_path, profile="postgres", max_concurrent_runs="6",
                                 pg_user=pg_database.user, pg_host=pg_database.host,
                                 pg_port=str(pg_database.port),
                                 dagster_pg_dbname=pg_database.dbname)
    write_instance(settings)
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert instance.get_runs() == []  # its tables were made in that database
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        # What the daemon's queue applies: the `concurrency` settings over the coordinator's.
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 6
        limits = queue.tag_concurrency_limits
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    assert {"key": SOURCE_TAG, "value": {"applyLimitPerUniqueValue": True},
            "limit": 1} in limits
    assert {slug: ingest.tags[SOURCE_TAG] for slug, ingest in INGEST_JOBS.items()} == \
        {slug: slug for slug in INGEST_JOBS}


# -- the multiprocess executor ---------------------------------------------------------------
def test_a_step_process_is_forked_from_a_server_that_imported_the_code_location_once(
        tmp_path):
    """A spawned step imported Dagster, dbt and the hub anew: ~7.5 s before each step,
    130 s of a PostgreSQL run at 2k clients. Forked from Dagster's forkserver, which has
    imported the code location, a step starts in about two. A preload that fails to import
    is skipped silently by multiprocessing, so the module must exist."""
    assert multiprocess_settings().executor == "multiprocess"
    for module in PRELOADED_MODULES:
        importlib.import_module(module)
    with DagsterInstance.local_temp(str(tmp_path)) as instance, execute_job(
            reconstructable(one_forked_step), instance=instance) as result:
        assert result.success
        origin = result.output_for_node("step_origin")
    assert origin["pid"] != os.getpid()
    assert "multiprocessing.forkserver" in origin["parent"]
    assert all(module in origin["parent"] for module in PRELOADED_MODULES)


# -- Celery --------------------------------------------------------------------------------
def _broker_or_skip() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError as error:
        reason = f"RabbitMQ not reachable at 127.0.0.1:5672: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires RabbitMQ: {reason}")
        pytest.skip(reason)


def test_the_celery_executor_runs_the_steps_on_a_worker_over_rabbitmq(tmp_path, pg_database):
    """The instance the worker and this process share is the production one, on
    PostgreSQL: Dagster's SQLite storage is not for several processes on several machines
    (two of them creating a run's event log shard at once left it with two alembic heads)."""
    _broker_or_skip()
    assert celery_settings().executor == "celery"
    home = write_instance(Settings.for_home(
        tmp_path, profile="postgres", pg_user=pg_database.user, pg_host=pg_database.host,
        pg_port=str(pg_database.port), dagster_pg_dbname=pg_database.dbname)).parent
    bin_dir = str(Path(sys.executable).parent)  # `dagster-celery` starts `celery` by name
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT),
           "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
           "DAGSTER_CELERY_BROKER_HOST": "127.0.0.1"}
    worker_log = tmp_path / "worker.log"
    with worker_log.open("w") as log:
        worker = subprocess.Popen(
            [str(Path(bin_dir) / "dagster-celery"), "worker", "start",
             "-A", "dagster_celery.app", "-q", QUEUE, "--", "--concurrency", "1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def give_up(signum, frame):
        raise TimeoutError(f"the Celery run did not finish in {DEADLINE} s; the worker's "
                           f"log:\n{worker_log.read_text()[-3000:]}")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(DEADLINE)  # a hung broker or worker fails this test, not the whole suite
    try:
        os.environ["DAGSTER_HOME"] = str(home)  # removed again below
        with DagsterInstance.get() as instance, execute_job(
                reconstructable(two_steps), instance=instance,
                run_config={"execution": {"config": {}}}) as result:
            assert result.success
            worker_pid = result.output_for_node("after")
        assert worker_pid != os.getpid()  # the step ran in the worker, not here
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.environ.pop("DAGSTER_HOME", None)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=60)
