"""The Ketenbrug code location: every stage's definitions, and the policy that holds for all.

Steps run in one process: DuckDB allows one writer per file (../shared/STACK.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

from dagster import Definitions, define_asset_job, in_process_executor
from dagster_dbt import DbtCliResource

from ketenbrug.pipelines.assets.billing_delivery import billing_statements_delivery
from ketenbrug.pipelines.assets.dbt import ketenbrug_dbt_models
from ketenbrug.pipelines.assets.handover_delivery import warm_handover_packages
from ketenbrug.pipelines.assets.landing import LANDING_ASSETS
from ketenbrug.pipelines.assets.pseudonym_domains import domain_pseudonyms
from ketenbrug.pipelines.checks.landing_checks import LANDING_CHECKS
from ketenbrug.pipelines.checks.lineage_separation import build_lineage_separation
from ketenbrug.pipelines.checks.purpose_lineage import purpose_lineage
from ketenbrug.pipelines.dbt_project import KETENBRUG_DBT
from ketenbrug.pipelines.resources import hub_storage, source_resources
from ketenbrug.pipelines.schedules import INGEST_JOBS, SCHEDULES, dji_changes

# The funding-separation guard reads this code location's whole graph when it runs.
lineage_separation = build_lineage_separation(lambda: defs.resolve_asset_graph())
HUB_JOB = define_asset_job("hub", selection="*", description="Pull, check, model and deliver.")

defs: Definitions = Definitions(
    assets=[*LANDING_ASSETS, domain_pseudonyms, ketenbrug_dbt_models, warm_handover_packages,
            billing_statements_delivery],
    asset_checks=[*LANDING_CHECKS, lineage_separation, purpose_lineage],
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
