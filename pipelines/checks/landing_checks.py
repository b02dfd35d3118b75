"""The two checks of every landing asset, run in one op and in this order: `contract`
judges every pending batch, then `accounting` reconciles every batch and row.

One op, so the reconciliation always sees the verdicts of the same run; two checks, so
the UI and the logs say which promise broke. A failure stays in its lane: a batch that
fails its contract is quarantined, and staging never reads it (write-audit-publish), so
the check need not hold the graph back; every mart is rebuilt from what each source last
published, and says per source how old that is. `accounting` blocks: a ledger that does
not reconcile means records may be lost, and nothing downstream should act on it.
"""

from __future__ import annotations

from collections.abc import Iterator

from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSpec, multi_asset_check

from ketenbrug import warehouse
from ketenbrug.connectors import DatasetManifest, all_datasets
from ketenbrug.contracts.odcs import load_contract
from ketenbrug.pipelines.assets.landing import landing_key
from ketenbrug.pipelines.checks import accounting, contract


def build_landing_checks(manifest: DatasetManifest) -> AssetChecksDefinition:
    """`contract` (quarantines, never blocks) and `accounting` (blocks) on the landing asset."""
    document = load_contract(manifest.source, manifest.name)
    key = landing_key(manifest)

    @multi_asset_check(
        name=f"{manifest.table}_checks", required_resource_keys={"hub"},
        specs=[
            AssetCheckSpec("contract", asset=key, blocking=False,
                           description=contract.DESCRIPTION.format(
                               id=document.document["id"], version=document.version)),
            AssetCheckSpec("accounting", asset=key, blocking=True,
                           description=accounting.DESCRIPTION),
        ],
    )
    def _checks(context) -> Iterator[AssetCheckResult]:
        db = context.resources.hub.warehouse_target()
        with warehouse.connect(db) as con:  # one open of the warehouse for both
            yield contract.contract_result(manifest, db, con, context.log.error)
            yield accounting.accounting_result(manifest, con)

    return _checks


LANDING_CHECKS = [build_landing_checks(m) for m in all_datasets()]
