"""The lineage guard at run time: a blocking check on billing_statements, so no statement
is delivered from a graph in which the billable lineage and the statutory one cross
anywhere but over the crossings declared in contracts/lineages.yaml.
"""

import json
from collections.abc import Callable
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from ketenbrug.audit.funding_separation import check_lineage
from ketenbrug.contracts.registers import LINEAGES_PATH
from ketenbrug.pipelines.assets.billing_delivery import BILLING_STATEMENTS
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.project_files import dbt_run_manifest


def build_lineage_separation(whole_graph: Callable[[], Any]) -> AssetChecksDefinition:
    """The check, reading the code location's whole asset graph (not only this run's
    selection) from `whole_graph` when it runs: definitions.py passes its own, so this
    module needs no import of it."""

    @asset_check(
        asset=BILLING_STATEMENTS, name="lineage_separation", blocking=True,
        description=("The dbt manifest and the Dagster asset graph hold no edge between the "
                     "municipal-funded lineage and the statutory one except those declared in "
                     "contracts/lineages.yaml, every node belongs to a lineage, and declared "
                     "aggregate-only crossings read aggregates only."),
    )
    def lineage_separation(context: AssetCheckExecutionContext,
                           hub: HubStorage) -> AssetCheckResult:
        manifest_path = dbt_run_manifest(hub.warehouse_target(), hub.home)
        report = check_lineage(json.loads(manifest_path.read_text()), whole_graph())
        for problem in report.problems():
            context.log.error(problem)
        return AssetCheckResult(
            passed=report.ok, severity=AssetCheckSeverity.ERROR,
            metadata={
                "policy": str(LINEAGES_PATH.name), "manifest": str(manifest_path),
                "problems": MetadataValue.json(report.problems()),
                "declared_crossings_seen": MetadataValue.json(
                    sorted({f"{e.parent} -> {e.child}" for e in report.crossings_seen})),
                "declared_crossings_unused": MetadataValue.json(
                    [f"{c.source} -> {c.target}" for c in report.unused_crossings]),
            })

    return lineage_separation
