"""The Ketenbrug code location: every stage's definitions, and the policy that holds for all.

Steps run in one process: DuckDB allows one writer per file (../shared/STACK.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

from dagster import Definitions, define_asset_job, in_process_executor
from dagster_dbt import DbtCliResource

from pipelines.assets.billing_delivery import billing_statements_delivery
from pipelines.assets.column_lineage_check import purpose_lineage
from pipelines.assets.dbt import ketenbrug_dbt_models
from pipelines.assets.delivery import warm_handover_packages
from pipelines.assets.ingestion import ACCOUNTING_CHECKS, CONTRACT_CHECKS, LANDING_ASSETS
from pipelines.assets.lineage_check import lineage_separation
from pipelines.assets.pseudonym_domains import domain_pseudonyms
from pipelines.dbt_project import KETENBRUG_DBT
from pipelines.resources import hub_storage, source_resources
from pipelines.schedules import INGEST_JOBS, SCHEDULES, dji_changes

HUB_JOB = define_asset_job("hub", selection="*", description="Pull, check, model and deliver.")

defs = Definitions(
    assets=[*LANDING_ASSETS, domain_pseudonyms, ketenbrug_dbt_models, warm_handover_packages,
            billing_statements_delivery],
    asset_checks=[*CONTRACT_CHECKS, *ACCOUNTING_CHECKS, lineage_separation, purpose_lineage],
    jobs=[HUB_JOB, *INGEST_JOBS.values()],
    schedules=SCHEDULES,
    sensors=[dji_changes],
    resources={
        "hub": hub_storage(),
        # dbt from this interpreter's environment, whether or not the venv is on PATH.
        "dbt": DbtCliResource(project_dir=KETENBRUG_DBT,
                              dbt_executable=str(Path(sys.executable).parent / "dbt")),
        **source_resources(),
    },
    executor=in_process_executor,
)
