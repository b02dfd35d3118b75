"""The lineage guard at run time: a blocking check on billing_statements, so no statement
is delivered from a graph in which the billable lineage and the statutory one cross
anywhere but over the crossings declared in contracts/lineages.yaml.
"""

import json
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from pipelines.assets.billing_delivery import BILLING_STATEMENTS
from pipelines.dbt_project import MANIFEST
from pipelines.lineage_guard import POLICY_PATH, check_lineage
from pipelines.resources import HubStorage


def _manifest_path(hub: HubStorage) -> Path:
    # The manifest of the dbt build this run did (pipelines/assets/dbt.py writes it beside
    # the warehouse) is what actually ran; without one, the project's own.
    ran = Path(hub.warehouse_path).parent / "dbt_target" / "manifest.json"
    return ran if ran.exists() else MANIFEST


@asset_check(
    asset=BILLING_STATEMENTS, name="lineage_separation", blocking=True,
    description=("The dbt manifest and the Dagster asset graph hold no edge between the "
                 "municipal-funded lineage and the statutory one except those declared in "
                 "contracts/lineages.yaml, every node belongs to a lineage, and declared "
                 "aggregate-only crossings read aggregates only."),
)
def lineage_separation(context: AssetCheckExecutionContext, hub: HubStorage) -> AssetCheckResult:
    # The code location's whole graph, not just this run's selection; imported here
    # because definitions.py imports this module.
    from pipelines.definitions import defs

    manifest_path = _manifest_path(hub)
    report = check_lineage(json.loads(manifest_path.read_text()), defs.resolve_asset_graph())
    for problem in report.problems():
        context.log.error(problem)
    return AssetCheckResult(
        passed=report.ok, severity=AssetCheckSeverity.ERROR,
        metadata={
            "policy": str(POLICY_PATH.name), "manifest": str(manifest_path),
            "problems": MetadataValue.json(report.problems()),
            "declared_crossings_seen": MetadataValue.json(
                sorted({f"{e.parent} -> {e.child}" for e in report.crossings_seen})),
            "declared_crossings_unused": MetadataValue.json(
                [f"{c.source} -> {c.target}" for c in report.unused_crossings]),
        })
