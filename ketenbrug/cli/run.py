"""Run the hub: prepare the instance, point it at source systems, execute the job in Dagster."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

from ketenbrug.config import Settings, source_env
from ketenbrug.project_files import DAGSTER_INSTANCE_TEMPLATE


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    success: bool
    failed_steps: list[str]


def prepare_environment(settings: Settings, base_urls: Mapping[str, str] | None = None,
                        credentials: Mapping[str, str] | None = None,
                        as_of_date: str | None = None) -> None:
    """Export the settings (and source endpoints, if given) for Dagster, dbt and resources."""
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DAGSTER_INSTANCE_TEMPLATE, settings.dagster_home / "dagster.yaml")
    os.environ.update(settings.export())
    for slug, url in (base_urls or {}).items():
        url_var, credential_var = source_env(slug)
        os.environ[url_var] = url
        os.environ[credential_var] = (credentials or {})[slug]
    if as_of_date:
        os.environ["KETENBRUG_AS_OF_DATE"] = as_of_date


def run_hub_job() -> RunOutcome:
    """Execute the `hub` job on the instance under DAGSTER_HOME; the run is kept in its history."""
    from dagster import DagsterInstance

    from ketenbrug.pipelines.definitions import defs

    with DagsterInstance.get() as instance:
        # The full event stream is in the instance (and the UI); the terminal gets warnings.
        result = defs.resolve_job_def("hub").execute_in_process(
            instance=instance, raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
        failed = [e.step_key for e in result.all_events
                  if e.is_step_failure and e.step_key]
        return RunOutcome(run_id=result.run_id, success=result.success, failed_steps=failed)
