"""The `accounting` check of every landing asset: nothing lost.

Blocking: the batch ledger reconciles with the rows actually landed and rejected, for
every batch of the dataset (ketenbrug.warehouse.unbalanced_batches).
"""

from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from ketenbrug import warehouse
from ketenbrug.connectors import DatasetManifest, all_datasets
from ketenbrug.pipelines.assets.landing import landing_key


def build_accounting_check(manifest: DatasetManifest) -> AssetChecksDefinition:
    @asset_check(
        asset=landing_key(manifest), name="accounting", blocking=True,
        required_resource_keys={"hub"},
        description=("Nothing lost: for every batch, records received = landed + rejected "
                     "with a reason, and landed = staged or quarantined by the verdict."),
    )
    def _check(context) -> AssetCheckResult:
        with warehouse.connect(Path(context.resources.hub.warehouse_path), read_only=True) as con:
            unbalanced = warehouse.unbalanced_batches(con, manifest)
        return AssetCheckResult(
            passed=not unbalanced, severity=AssetCheckSeverity.ERROR,
            metadata={"unbalanced_batches": MetadataValue.json(unbalanced)})

    return _check


ACCOUNTING_CHECKS = [build_accounting_check(m) for m in all_datasets()]
