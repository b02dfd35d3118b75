"""The Ketenbrug code location: every stage's definitions, and the policy that holds for all.

Built from the hub's settings (ketenbrug/config.py), read once when the code location
loads: a wrong or missing value stops the load with one message naming every one. The
profile chooses the resources and the executor, the way Dagster's example projects choose
per deployment: embedded runs its steps in one process (DuckDB allows one writer per file,
../shared/STACK.md); the production profile on PostgreSQL runs them in parallel, in
processes (multiprocess) or on Celery workers (celery).
"""

from __future__ import annotations

from typing import Any

from dagster import (
    AssetSelection,
    Definitions,
    ExecutorDefinition,
    JobDefinition,
    define_asset_job,
    in_process_executor,
    multiprocess_executor,
)

from ketenbrug.config import Settings
from ketenbrug.pipelines.assets.billing_delivery import BILLING_DELIVERY, build_billing_delivery
from ketenbrug.pipelines.assets.dbt import ketenbrug_dbt_models
from ketenbrug.pipelines.assets.handover_delivery import warm_handover_packages
from ketenbrug.pipelines.assets.landing import LANDING_ASSETS
from ketenbrug.pipelines.assets.pseudonym_domains import domain_pseudonyms
from ketenbrug.pipelines.checks.landing_checks import LANDING_CHECKS
from ketenbrug.pipelines.checks.lineage_separation import build_lineage_separation
from ketenbrug.pipelines.checks.purpose_lineage import purpose_lineage
from ketenbrug.pipelines.resources import resources_for
from ketenbrug.pipelines.schedules import BILLING_JOB, INGEST_JOBS, dji_changes, schedules_for

# Billing is delivered per closed month (pipelines/partitions.py), in a job of its own: a
# job's assets share one partitioning, and a month's backfill must not pull the sources.
HUB_JOB = define_asset_job("hub", selection=AssetSelection.all() - AssetSelection.assets(
    BILLING_DELIVERY), description="Pull, check, model and deliver the handover packages.")


# Each step's process is forked from a server that has imported the code location once
# (Dagster's forkserver start method), not spawned to import Dagster, dbt and the hub
# anew: a spawned step spent ~7.5 s starting, more than most steps take to run.
PRELOADED_MODULES = ["ketenbrug.pipelines.definitions"]


def executor_for(settings: Settings) -> ExecutorDefinition:
    if settings.executor == "multiprocess":
        return multiprocess_executor.configured(
            {"start_method": {"forkserver": {"preload_modules": PRELOADED_MODULES}}},
            name="multiprocess")
    if settings.executor == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured({"broker": settings.celery_broker},
                                          name="celery")
    return in_process_executor


def build_definitions(settings: Settings) -> Definitions:
    """The code location of one deployment."""
    built: dict[str, Any] = {}
    # The funding-separation guard reads this code location's whole graph when it runs.
    lineage_separation = build_lineage_separation(lambda: built["defs"].resolve_asset_graph())
    built["defs"] = Definitions(
        assets=[*LANDING_ASSETS, domain_pseudonyms, ketenbrug_dbt_models,
                warm_handover_packages, build_billing_delivery(settings.billing_first_month)],
        asset_checks=[*LANDING_CHECKS, lineage_separation, purpose_lineage],
        jobs=[HUB_JOB, BILLING_JOB, *INGEST_JOBS.values()],
        schedules=schedules_for(_file_schedules(settings), settings.billing_first_month),
        sensors=[dji_changes],
        resources=resources_for(settings),
        executor=executor_for(settings),
    )
    return built["defs"]


def _file_schedules(settings: Settings) -> dict[str, str]:
    if settings.sources_file is None:
        return {}
    from ketenbrug.connectors.source_config import schedules

    return schedules(settings.sources_file)


def hub_job() -> JobDefinition:
    """The `hub` job of this process's deployment. Reconstructable (module level): the
    multiprocess and Celery executors rebuild it in each step's process from the same
    settings, which `ketenbrug run` exported before starting it."""
    return build_definitions(Settings.load()).resolve_job_def("hub")


def billing_job() -> JobDefinition:
    """The `billing` job of this process's deployment, reconstructable like hub_job."""
    return build_definitions(Settings.load()).resolve_job_def(BILLING_JOB.name)


defs: Definitions = build_definitions(Settings.load())
