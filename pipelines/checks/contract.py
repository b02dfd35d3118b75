"""The `contract` check of every landing asset: write-audit-publish's audit.

The dataset's ODCS contract, compiled to Great Expectations (pushed down to DuckDB as
SQL; on PostgreSQL run by GX's pandas engine: warehouse.validate_landed_batch), judges
every batch still awaiting a verdict, oldest first: this run's, and any an earlier
run left `landed` when it was killed. The ledger marks each passed (published to staging)
or quarantined (held back from staging, the other datasets going on). Runs in one op with
the accounting check (landing_checks.py).
"""

from __future__ import annotations

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from ketenbrug import warehouse
from ketenbrug.connectors import DatasetManifest
from ketenbrug.contracts.odcs import load_contract
from ketenbrug.databases import Target
from ketenbrug.failpoints import failpoint

DESCRIPTION = ("ODCS contract {id} v{version}, compiled to Great Expectations, on every batch "
               "awaiting its verdict (this run's, and any a killed run left). Failing batches "
               "are quarantined.")


def contract_result(manifest: DatasetManifest, target: Target, con: warehouse.Connection,
                    log_error) -> AssetCheckResult:
    """Judge every pending batch of `manifest`'s dataset (`con`: the open warehouse
    `target`); passed only if every one passed.

    Refuses (LookupError) a dataset with no batch at all: its landing asset lands one first.
    """
    contract = load_contract(manifest.source, manifest.name)
    judged = []
    pending = warehouse.pending_batches(con, manifest)
    if not pending and warehouse.latest_batch_id(con, manifest) is None:
        raise LookupError(f"{manifest.source}.{manifest.name}: no batch to check")
    for batch_id in pending:
        # GX judges this batch's rows only: as SQL in DuckDB (contracts/gx_sql.py), or
        # in pandas on PostgreSQL
        result = warehouse.validate_landed_batch(target, contract, manifest, batch_id)
        verdict = "; ".join(f.describe() for f in result.failures) or "all rules passed"
        failpoint("check:verdict")
        accounting = warehouse.record_verdict(
            con, batch_id, passed=result.passed, contract_version=contract.version,
            verdict=verdict)
        if not result.passed:
            log_error(f"{manifest.source}.{manifest.name} batch {batch_id} quarantined: "
                      f"{verdict}")
        judged.append((batch_id, result, verdict, accounting))
    if not judged:  # nothing new since the last verdict: the last one stands
        return AssetCheckResult(check_name="contract", passed=True,
                                metadata={"batches_judged": 0})
    batch_id, result, verdict, accounting = judged[-1]
    balanced = all(a["received"] == a["staged"] + a["quarantined"] + a["unchanged"]
                   + a["rejected"]
                   for *_, a in judged)
    return AssetCheckResult(
        check_name="contract", passed=all(r.passed for _, r, _, _ in judged) and balanced,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "batch_id": batch_id, "rows_checked": result.rows, "rules": result.rules,
            "rules_failed": len(result.failures), "verdict": verdict,
            **dict(accounting.items()), "accounting_balanced": balanced,
            "batches_judged": len(judged),
            "recovered_batches": MetadataValue.json([b for b, *_ in judged[:-1]]),
        })
