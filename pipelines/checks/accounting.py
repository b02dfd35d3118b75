"""The `accounting` check of every landing asset: nothing lost.

After the contract check has judged every pending batch, the ledger must reconcile with
the rows actually landed, unchanged and rejected, for every batch of the dataset, and no landed row
may belong to a batch the ledger does not know (ketenbrug.warehouse.unbalanced_batches).
"""

from __future__ import annotations

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from ketenbrug import warehouse
from ketenbrug.connectors import DatasetManifest

DESCRIPTION = ("Nothing lost: for every batch, records received = landed + unchanged (the "
               "version already landed) + rejected with a reason, landed = staged or "
               "quarantined by the verdict, no batch is left without a verdict, and no "
               "landed row lacks its batch.")


def accounting_result(manifest: DatasetManifest, con: warehouse.Connection
                      ) -> AssetCheckResult:
    """Reconcile the whole ledger of `manifest`'s dataset; passed when nothing is off."""
    unbalanced = warehouse.unbalanced_batches(con, manifest, judged=True)
    return AssetCheckResult(
        check_name="accounting", passed=not unbalanced, severity=AssetCheckSeverity.ERROR,
        metadata={"unbalanced_batches": MetadataValue.json(unbalanced)})
