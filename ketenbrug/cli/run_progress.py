"""What a steward sees while the hub runs: one line per step, with counts and time.

dbt's and Dagster's own output (hundreds of lines: every model and test, warnings, step
debug lines, also from step processes) goes to a log file under the home, whose path is
printed (`quiet_terminal`). The lines come from the run's events (`RunWatcher`), so they
are the same for every executor: in process, multiprocess and Celery alike.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

INVOCATION_TAG = "ketenbrug/invocation"
_POLL_SECONDS = 1.0


@contextmanager
def quiet_terminal(log_dir: Path) -> Iterator[tuple[IO[str], Path]]:
    """Send this process's stdout and stderr, and its children's, to a new log file under
    `log_dir`; yield the terminal (for the progress lines) and the log's path.

    At the file-descriptor level: dbt writes to sys.stdout, Dagster's loggers to stderr,
    and step processes inherit both.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"run-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.log"
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    terminal = os.fdopen(os.dup(saved[1]), "w", buffering=1, encoding="utf-8")
    try:
        for fd in saved:
            os.dup2(log_fd, fd)
        yield terminal, path
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, original in saved.items():
            os.dup2(original, fd)
            os.close(original)
        os.close(log_fd)
        terminal.close()


@dataclass
class _Step:
    started: float
    materializations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    checks: list[tuple[str, bool, dict[str, Any]]] = field(default_factory=list)


def _seconds(started: float, ended: float) -> str:
    return f"{ended - started:6.1f} s"


def _dataset(step_key: str, prefix: str = "", suffix: str = "") -> str:
    core = step_key.removeprefix(prefix).removesuffix(suffix)
    return core.replace("__", ".", 1)


def describe_step(key: str, step: _Step, ended: float, failed: bool) -> str:
    """One line for a finished step: what it did, in counts, and how long it took."""
    took = _seconds(step.started, ended)
    if failed:
        return f"  {'FAILED':<9} {key:<38} {took}"
    if key.startswith("landing__") and step.materializations:
        meta = step.materializations[0][1]
        return (f"  {'landing':<9} {_dataset(key, 'landing__'):<38} {took}  "
                f"{meta.get('records_received', 0)} received: "
                f"{meta.get('records_landed', 0)} new, {meta.get('records_unchanged', 0)} "
                f"unchanged, {meta.get('records_rejected', 0)} rejected")
    if key.endswith("_checks") and step.checks:
        verdicts = {name.rsplit(":", 1)[-1]: (passed, meta) for name, passed, meta in step.checks}
        contract = verdicts.get("contract")
        said = ("no new batch" if contract and contract[1].get("batches_judged") == 0 else
                "passed" if contract is None or contract[0] else
                f"QUARANTINED batch {contract[1].get('batch_id', '?')}")
        if "accounting" in verdicts and not verdicts["accounting"][0]:
            said += "; accounting does NOT balance"
        return f"  {'contract':<9} {_dataset(key, suffix='_checks'):<38} {took}  {said}"
    if key == "ketenbrug_dbt_models":
        meta = step.materializations[0][1] if step.materializations else {}
        failed_tests = sum(not passed for _, passed, _ in step.checks)
        if "inputs_as_at_run" in meta:
            said = f"no model rebuilt: inputs as at run {str(meta['inputs_as_at_run'])[:8]}"
        else:
            said = (f"{len(step.materializations)} models and seeds built, "
                    f"{len(step.checks)} tests as checks ({failed_tests} failed)")
        return f"  {'dbt':<9} {'build':<38} {took}  {said}"
    if key.startswith("delivery__") and step.materializations:
        meta = step.materializations[0][1]
        delivered = meta.get("packages", meta.get("statements", "?"))
        return (f"  {'delivery':<9} {key.removeprefix('delivery__'):<38} {took}  "
                f"{delivered} delivered, {meta.get('unchanged', 0)} unchanged")
    if step.materializations:
        name, meta = step.materializations[0]
        rows = f"{meta['rows']} rows" if "rows" in meta else "built"
        return f"  {'asset':<9} {name:<38} {took}  {rows}"
    if step.checks:
        failed_checks = [name for name, passed, _ in step.checks if not passed]
        said = (f"{len(step.checks)} passed" if not failed_checks
                else f"FAILED: {', '.join(failed_checks)}")
        return f"  {'check':<9} {key:<38} {took}  {said}"
    return f"  {'step':<9} {key:<38} {took}"


class StageLines:
    """Turns a run's events into one line per finished step."""

    def __init__(self, emit: Callable[[str], None]):
        self._emit = emit
        self._steps: dict[str, _Step] = {}

    @property
    def running(self) -> list[tuple[str, float]]:
        return [(key, step.started) for key, step in self._steps.items()]

    def feed(self, entry) -> None:
        """Take one Dagster event-log entry of the run."""
        event = entry.dagster_event
        if event is None or not event.step_key:
            return
        key, kind = event.step_key, event.event_type_value
        if kind == "STEP_START":
            self._steps[key] = _Step(entry.timestamp)
            return
        step = self._steps.get(key)
        if step is None:
            return
        if kind == "ASSET_MATERIALIZATION":
            materialization = event.step_materialization_data.materialization
            step.materializations.append((materialization.asset_key.to_user_string(),
                                          _plain(materialization.metadata)))
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            step.checks.append((f"{evaluation.asset_key.to_user_string()}:"
                                f"{evaluation.check_name}", evaluation.passed,
                                _plain(evaluation.metadata)))
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            del self._steps[key]
            self._emit(describe_step(key, step, entry.timestamp, kind == "STEP_FAILURE"))


def _plain(metadata: dict) -> dict[str, Any]:
    return {name: getattr(value, "value", value) for name, value in metadata.items()}


class RunWatcher:
    """Prints the step lines of the runs of one invocation as their steps end.

    A run executed in this process is followed through the instance's event listener
    (`attach`): every event reaches it as it is stored, at no cost. Runs whose steps
    execute elsewhere (multiprocess, Celery) are followed by reading the instance every
    second from a thread (`poll`), found by the invocation's tag.
    """

    def __init__(self, invocation: str, terminal: IO[str], poll: bool = False):
        self.invocation = invocation
        self._terminal = terminal
        self._lines: dict[str, StageLines] = {}
        self._stop = threading.Event()
        self._thread = (threading.Thread(target=self._follow, name="run-progress", daemon=True)
                        if poll else None)
        self._live = _Spinner(terminal) if terminal.isatty() else None

    def emit(self, line: str) -> None:
        if self._live:
            self._live.print(line)
        else:
            self._terminal.write(line + "\n")
            self._terminal.flush()

    def attach(self, instance, job: str, run_id: str) -> None:
        """Follow `run_id`, about to execute in this process on `instance`."""
        self._begin(job, run_id)
        instance.add_event_listener(run_id, lambda entry: self._feed(run_id, entry))

    def _begin(self, job: str, run_id: str) -> None:
        self._lines[run_id] = StageLines(self.emit)
        self.emit(f"{job} run {run_id}:")

    def _feed(self, run_id: str, entry) -> None:
        lines = self._lines[run_id]
        lines.feed(entry)
        if self._live:
            self._live.update(lines.running)

    def __enter__(self) -> RunWatcher:
        if self._thread:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
        if self._live:
            self._live.stop()

    def _follow(self) -> None:
        from dagster import DagsterInstance, RunsFilter

        cursors: dict[str, str | None] = {}
        with DagsterInstance.get() as instance:
            while True:
                stopping = self._stop.is_set()  # read first: one last pass after the end
                runs = instance.get_runs(RunsFilter(tags={INVOCATION_TAG: self.invocation}))
                for run in reversed(runs):  # oldest first: the hub run, then billing
                    if run.run_id not in self._lines:
                        self._begin(run.job_name, run.run_id)
                    page = instance.get_records_for_run(run.run_id, cursor=cursors.get(run.run_id),
                                                        limit=1000)
                    for record in page.records:
                        self._feed(run.run_id, record.event_log_entry)
                    cursors[run.run_id] = page.cursor
                if stopping:
                    return
                self._stop.wait(_POLL_SECONDS)


class _Spinner:
    """On a terminal: a live line naming the steps still running and for how long."""

    def __init__(self, terminal: IO[str]):
        from rich.console import Console

        self._console = Console(file=terminal)
        self._status = self._console.status("starting the run")
        self._status.start()

    def print(self, line: str) -> None:
        self._console.print(line, markup=False, highlight=False)

    def update(self, running: list[tuple[str, float]]) -> None:
        now = time.time()
        self._status.update(", ".join(f"{key} {now - started:.0f} s"
                                      for key, started in running) or "between steps")

    def stop(self) -> None:
        self._status.stop()
