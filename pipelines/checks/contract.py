"""The `contract` check of every landing asset: write-audit-publish's audit.

Blocking: the dataset's ODCS contract, compiled to Great Expectations and pushed down to
DuckDB, runs on the latest batch; the ledger marks it passed (published to staging) or
quarantined (held back, downstream blocked).
"""

from pathlib import Path

from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, asset_check

from ketenbrug import warehouse
from ketenbrug.connectors import DatasetManifest, all_datasets
from ketenbrug.contracts.gx_sql import validate_batch_sql
from ketenbrug.contracts.odcs import load_contract
from ketenbrug.pipelines.assets.landing import landing_key


def build_contract_check(manifest: DatasetManifest) -> AssetChecksDefinition:
    contract = load_contract(manifest.source, manifest.name)

    @asset_check(
        asset=landing_key(manifest), name="contract", blocking=True,
        required_resource_keys={"hub"},
        description=(f"ODCS contract {contract.document['id']} v{contract.version}, compiled to "
                     "Great Expectations, on the latest batch. Failing batches are quarantined."),
    )
    def _check(context) -> AssetCheckResult:
        db = Path(context.resources.hub.warehouse_path)
        with warehouse.connect(db) as con:
            batch_id = warehouse.latest_batch_id(con, manifest)
            if batch_id is None:  # the asset this check follows lands a batch first
                raise LookupError(f"{manifest.source}.{manifest.name}: no batch to check")
            # GX pushes every rule down to DuckDB as SQL on this batch only (contracts/gx_sql.py)
            result = validate_batch_sql(contract, db, manifest.table, batch_id)
            verdict = "; ".join(f.describe() for f in result.failures) or "all rules passed"
            accounting = warehouse.record_verdict(
                con, batch_id, passed=result.passed, contract_version=contract.version,
                verdict=verdict)
        balanced = accounting["received"] == (
            accounting["staged"] + accounting["quarantined"] + accounting["rejected"])
        if not result.passed:
            context.log.error(f"{manifest.source}.{manifest.name} batch {batch_id} quarantined: "
                              f"{verdict}")
        return AssetCheckResult(
            passed=result.passed and balanced, severity=AssetCheckSeverity.ERROR,
            metadata={
                "batch_id": batch_id, "rows_checked": result.rows, "rules": result.rules,
                "rules_failed": len(result.failures), "verdict": verdict,
                **{k: v for k, v in accounting.items()}, "accounting_balanced": balanced,
            })

    return _check


CONTRACT_CHECKS = [build_contract_check(m) for m in all_datasets()]
