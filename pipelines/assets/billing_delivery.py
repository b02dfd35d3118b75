"""Delivery of billing statements as a Dagster asset; what is delivered, and how, is
ketenbrug.delivery.billing's."""

from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from ketenbrug.contracts.registers import load_purposes
from ketenbrug.delivery.billing import FUNDING_STREAM, PURPOSE, deliver_billing_statements
from ketenbrug.pipelines.assets.dbt import dbt_vars
from ketenbrug.pipelines.assets.run_options import DeliveryConfig
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.privacy.checkpoints import checkpoint_log
from ketenbrug.privacy.sealing import load_or_create_signing_key

BILLING_STATEMENTS = AssetKey(["billing_statements"])


@asset(
    key=AssetKey(["delivery", "billing_statements_delivery"]), group_name="municipal_funded",
    deps=[BILLING_STATEMENTS], kinds={"python", "csv", "json"},
    description=("One billing statement per municipality and month (CSV, formula-safe, and "
                 "JSON) with a manifest of row counts and SHA-256 checksums, under "
                 "outbox/<CBS code>/billing/. Agreements and hours only: not sealed; each "
                 "delivery is on the disclosure log."),
    metadata={"purpose": PURPOSE, "funding_stream": FUNDING_STREAM,
              "legal_basis": load_purposes()[PURPOSE].legal_basis},
)
def billing_statements_delivery(context: AssetExecutionContext, hub: HubStorage,
                                config: DeliveryConfig) -> MaterializeResult:
    outbox = Path(hub.outbox_dir)
    outcome = deliver_billing_statements(
        warehouse=hub.warehouse_target(), outbox=outbox,
        disclosure_log=hub.disclosure_log_location(), as_of=dbt_vars()["as_of_date"],
        run_id=context.run_id, redeliver=config.redeliver)
    delivered = outcome.delivered
    # Fix the log's head under the hub's signature: from here on, cutting it shows.
    checkpoint = checkpoint_log(hub.disclosure_log_location(),
                                load_or_create_signing_key(Path(hub.keys_dir)))
    return MaterializeResult(metadata={
        "funding_stream": FUNDING_STREAM,
        "agreement_ids": MetadataValue.json(sorted(
            a for d in delivered.values() for a in d["agreement_ids"])),
        "municipalities": len(delivered),
        "unchanged": len(outcome.unchanged),  # as last delivered: not written or logged
        "statements": sum(d["statements"] for d in delivered.values()),
        "amount_cents": sum(d["amount_cents"] for d in delivered.values()),
        "outbox": str(outbox), "per_municipality": MetadataValue.json(delivered),
        "disclosure_log_checkpoint_seq": checkpoint.seq,
    })
