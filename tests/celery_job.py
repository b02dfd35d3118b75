"""Jobs on the production executors, for tests/integration/test_scale_out.py: two steps on
Celery, one on the multiprocess executor.

A module of the `tests` package, so a `dagster-celery` worker (PYTHONPATH = the repo) can
import the job by name, which it cannot from a pytest-collected test module."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import job, op

from ketenbrug.config import Settings
from ketenbrug.pipelines.definitions import executor_for

BROKER = os.environ.get("KETENBRUG_TEST_CELERY_BROKER", "pyamqp://guest@127.0.0.1:5672//")

def _worker_pid() -> int:
    return os.getpid()


# The steps go to a queue of their own (an op tag, which dagster-celery reads per step),
# so no other worker on this broker takes them.
QUEUE = "ketenbrug-test"
DEADLINE = 120  # seconds: a step round trip takes a few


@op(tags={"dagster-celery/queue": QUEUE})
def step_pid() -> int:
    return _worker_pid()


@op(tags={"dagster-celery/queue": QUEUE})
def after(pid: int) -> int:
    return pid


def celery_settings() -> Settings:
    return Settings.for_home(Path(os.devnull).parent, profile="postgres", executor="celery",
                             celery_broker=BROKER)


@job(executor_def=executor_for(celery_settings()))
def two_steps():
    after(step_pid())


# -- the multiprocess executor, as the production profile builds it ------------------------
@op
def step_origin() -> dict:
    """Where this step's process came from: its pid and its parent's command line."""
    parent = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return {"pid": os.getpid(), "parent": parent}


def multiprocess_settings() -> Settings:
    return Settings.for_home(Path(os.devnull).parent, profile="postgres",
                             executor="multiprocess")


@job(executor_def=executor_for(multiprocess_settings()))
def one_forked_step():
    step_origin()
