"""Run the hub: prepare the instance, point it at source systems, execute the job in Dagster."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from ketenbrug import run_lock
from ketenbrug.cli.instance import write_instance
from ketenbrug.cli.run_progress import INVOCATION_TAG, RunWatcher
from ketenbrug.cli.startup import importing
from ketenbrug.config import BY_NAME, Settings, source_env
from ketenbrug.pipelines.run_actor import STARTED_BY_TAG
from ketenbrug.privacy.actor import cli_actor
from ketenbrug.stewardship.writers import HOST_TAG, PID_TAG


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    success: bool
    failed_steps: list[str]
    failed_checks: list[str]
    # per delivery asset: (delivered, unchanged) recipients, where it ran
    deliveries: dict[str, tuple[int, int]] = field(default_factory=dict)
    # the run whose dbt build this run's inputs equal, when dbt rebuilt nothing
    dbt_inputs_as_at: str | None = None
    # the billing job's run after the hub's, and the closed months it covered
    billing_run_id: str | None = None
    billing_months: tuple[str, str] | None = None
    log: Path | None = None  # dbt's and Dagster's own output of both runs


def prepare_environment(settings: Settings, base_urls: Mapping[str, str] | None = None,
                        credentials: Mapping[str, str] | None = None,
                        as_of_date: str | None = None) -> Settings:
    """Write the Dagster instance and export the settings (with the source endpoints and
    date, if given) for this process's run and its children (dbt, step processes); return
    the settings they now read."""
    os.environ.update(settings.export())
    for slug, url in (base_urls or {}).items():
        url_var, credential_var = source_env(slug)
        os.environ[url_var] = url
        os.environ[credential_var] = (credentials or {})[slug]
    if as_of_date:
        os.environ[BY_NAME["as_of_date"].env] = as_of_date
    settings = Settings.load()
    settings.home.mkdir(parents=True, exist_ok=True)
    write_instance(settings)
    return settings


def run_hub_quietly(settings: Settings, holder: dict | None = None, *,
                    redeliver: bool = False, rebuild: bool = False) -> RunOutcome:
    """`run_hub_job` as `demo` and `run` show it: a line per step on the terminal, dbt's
    and Dagster's own output in a log file under the home (its path printed first)."""
    import click

    with importing():
        from dagster import DagsterInstance

    from ketenbrug.cli.run_progress import RunWatcher, quiet_terminal

    os.environ.setdefault("DBT_USE_COLORS", "false")  # a log file, not a terminal
    invocation = str(uuid.uuid4())
    polling = settings.executor != "in_process"  # else the run's own events are watched
    with quiet_terminal(settings.home / "logs") as (terminal, log):
        if polling:
            # The instance's storage is created (and migrated) here, once, before a polling
            # watcher opens it too: two threads creating a SQLite storage stamp two heads.
            DagsterInstance.get().dispose()
        click.echo(f"logs: {log} (dbt and Dagster, in full)", file=terminal)
        with RunWatcher(invocation, terminal, poll=polling) as progress:
            outcome = run_hub_job(holder, redeliver=redeliver, rebuild=rebuild,
                                  tags={INVOCATION_TAG: invocation}, progress=progress)
    return replace(outcome, log=log)


def run_hub_job(holder: dict | None = None, *, redeliver: bool = False,
                rebuild: bool = False, tags: Mapping[str, str] | None = None,
                progress: RunWatcher | None = None) -> RunOutcome:
    """Execute the `hub` job, then the `billing` job over every closed billing month, on the
    instance under DAGSTER_HOME; both runs are kept in its history.

    The caller holds the hub's run lock (`holder`, its record, gets the run id). Runs an
    earlier process left unfinished (killed) are marked failed first. `redeliver`: every
    package and statement is delivered again, also where it is as last delivered;
    `rebuild`: dbt builds every model, also when its inputs are as at the last build.
    Billing runs when the hub run built (or kept) its mart, whatever else failed: a failure
    stays in its lane.
    """
    with importing():  # Dagster, dbt and the hub's definitions: ~2.5 s of imports
        from dagster import DagsterInstance

        import ketenbrug.pipelines.definitions  # noqa: F401 - imported here, not per run
        from ketenbrug.pipelines.assets.billing_delivery import BILLING_STATEMENTS
        from ketenbrug.pipelines.assets.run_options import run_options
        from ketenbrug.pipelines.partitions import range_tags

    settings = Settings.load()

    def run_config(job: str) -> dict[str, Any]:
        # The full event stream is in the instance (and the UI); the terminal gets warnings.
        return {"loggers": {"console": {"config": {"log_level": "WARNING"}}},
                **run_options(job, redeliver=redeliver, rebuild=rebuild)}

    with DagsterInstance.get() as instance:
        fail_dead_runs(instance)
        hub = _execute(instance, settings, "hub", run_config("hub"), dict(tags or {}), holder,
                       progress)
        results = [hub]
        months = _closed_billing_months(settings)
        if months and BILLING_STATEMENTS in _materialized(hub):
            results.append(_execute(instance, settings, "billing", run_config("billing"),
                                    {**range_tags(months), **(tags or {})}, holder, progress))
        _checkpoint_disclosure_log()
    events = [event for result in results for event in result.all_events]
    return RunOutcome(
        run_id=hub.run_id, success=all(r.success for r in results),
        failed_steps=[e.step_key for e in events if e.is_step_failure and e.step_key],
        failed_checks=[f"{e.asset_key.to_user_string()}:{e.check_name}"
                       for r in results for e in r.get_asset_check_evaluations() if not e.passed],
        deliveries=_deliveries(events), dbt_inputs_as_at=_dbt_inputs_as_at(events),
        billing_run_id=results[1].run_id if len(results) > 1 else None, billing_months=months)


def _execute(instance, settings: Settings, job: str, run_config: dict, tags: dict,
             holder: dict | None, progress: RunWatcher | None = None):
    """One run of `job`: in this process (embedded), or with each step in a process of its
    own, which rebuilds the job from the settings exported before (multiprocess, Celery)."""
    from dagster import execute_job, reconstructable

    from ketenbrug.pipelines.definitions import billing_job, build_definitions, hub_job

    tags = {**tags, PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(),
            STARTED_BY_TAG: cli_actor("pipeline_run").subject}
    if settings.executor == "in_process":
        run_id = str(uuid.uuid4())
        if holder is not None:  # the lock's record names the run now in progress
            holder["run_id"] = run_id
            run_lock.announce(settings.home, holder)
        if progress is not None:
            progress.attach(instance, job, run_id)
        return build_definitions(settings).resolve_job_def(job).execute_in_process(
            instance=instance, raise_on_error=False, run_id=run_id, tags=tags,
            run_config=run_config)
    return execute_job(reconstructable(hub_job if job == "hub" else billing_job),
                       instance=instance, run_config=run_config, tags=tags,
                       raise_on_error=False)


def _closed_billing_months(settings: Settings) -> tuple[str, str] | None:
    from ketenbrug.pipelines.partitions import billing_months, closed_months

    as_of = date.fromisoformat(settings.as_of_date) if settings.as_of_date else date.today()
    return closed_months(billing_months(settings.billing_first_month), as_of)


def _materialized(result) -> set:
    return {e.asset_key for e in result.all_events if e.is_step_materialization}


def _deliveries(events) -> dict[str, tuple[int, int]]:
    """(delivered, unchanged) recipients per delivery asset, from its materialization."""
    found = {}
    for event in events:
        if event.is_step_materialization and event.asset_key and \
                event.asset_key.path[0] == "delivery":
            meta = event.step_materialization_data.materialization.metadata
            delivered = meta.get("packages", meta.get("statements"))
            unchanged = meta.get("unchanged")
            if delivered is not None and unchanged is not None:
                found[event.asset_key.path[-1]] = (int(delivered.value), int(unchanged.value))
    return found


def _dbt_inputs_as_at(events) -> str | None:
    """The run named by the dbt models' materializations when none was rebuilt."""
    for event in events:
        if event.is_step_materialization:
            meta = event.step_materialization_data.materialization.metadata
            if "inputs_as_at_run" in meta:
                return str(meta["inputs_as_at_run"].value)
    return None


def _checkpoint_disclosure_log() -> None:
    """Sign the disclosure log's head at the end of every run, also one whose deliveries
    did not run (their steps checkpoint too): what the run logged can no longer be cut
    unnoticed. A log that disagrees with its checkpoints is refused (LogTampered)."""
    from ketenbrug.privacy.checkpoints import checkpoint_hub_log

    settings = Settings.from_env()
    checkpoint_hub_log(settings.disclosure_log, settings.keys_dir)


def fail_dead_runs(instance) -> list[str]:
    """Mark failed every unfinished run of an earlier `ketenbrug` process; return their ids.

    Called while holding the hub's run lock, which a live run would hold: so a run of ours
    (tagged with its process id) that is still STARTED was killed, and would otherwise
    stay STARTED for ever. Runs launched from the UI are watched by Dagster's own run
    monitoring (dagster.yaml).
    """
    from dagster import DagsterRunStatus, RunsFilter

    unfinished = instance.get_runs(RunsFilter(statuses=[
        DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]))
    dead = [run for run in unfinished if PID_TAG in run.tags]
    for run in dead:
        instance.report_run_failed(
            run, message=f"process {run.tags[PID_TAG]} is gone: the run was killed")
        # The pool slot a killed step held (a landing step's, one per source) is freed
        # with it; else the next run's step would wait for that slot for ever.
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return [run.run_id for run in dead]

