"""Delivery of billing statements as a Dagster asset, partitioned by billing month
(pipelines/partitions.py); what is delivered, and how, is ketenbrug.delivery.billing's."""

from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from ketenbrug.contracts.registers import load_purposes
from ketenbrug.delivery.billing import FUNDING_STREAM, PURPOSE, deliver_billing_statements
from ketenbrug.pipelines.assets.dbt import dbt_vars
from ketenbrug.pipelines.assets.run_options import DeliveryConfig
from ketenbrug.pipelines.partitions import billing_months
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.pipelines.run_actor import run_actor
from ketenbrug.privacy.actor import acting_as
from ketenbrug.privacy.checkpoints import checkpoint_log
from ketenbrug.privacy.sealing import load_or_create_signing_key

BILLING_STATEMENTS = AssetKey(["billing_statements"])
BILLING_DELIVERY = AssetKey(["delivery", "billing_statements_delivery"])


def build_billing_delivery(first_month: str) -> AssetsDefinition:
    """The billing delivery, one partition per closed month since `first_month`."""

    @asset(
        key=BILLING_DELIVERY, group_name="municipal_funded", deps=[BILLING_STATEMENTS],
        kinds={"python", "csv", "json"}, partitions_def=billing_months(first_month),
        # A range of months (a hub run's, or a backfill's) is one run and one read of the
        # mart, not a run per month.
        backfill_policy=BackfillPolicy.single_run(),
        description=("Per municipality and closed month, one billing statement (CSV, "
                     "formula-safe, and JSON) with a manifest of row counts and SHA-256 "
                     "checksums signed by the hub, under outbox/<CBS code>/billing/<YYYY-MM>/. "
                     "Agreements and "
                     "hours only: not sealed; each delivery is on the disclosure log. A past "
                     "month delivered again (a backfill) is a correction when its lines "
                     "changed, and nothing when they did not (run config redeliver: true "
                     "sends it anyway)."),
        metadata={"purpose": PURPOSE, "funding_stream": FUNDING_STREAM,
                  "legal_basis": load_purposes()[PURPOSE].legal_basis},
    )
    def billing_statements_delivery(context: AssetExecutionContext, hub: HubStorage,
                                    config: DeliveryConfig) -> MaterializeResult:
        outbox = Path(hub.outbox_dir)
        months = context.partition_keys
        with acting_as(run_actor(context.run.tags)):
            outcome = deliver_billing_statements(
                warehouse=hub.warehouse_target(), outbox=outbox,
                disclosure_log=hub.disclosure_log_location(), keys_dir=Path(hub.keys_dir),
                as_of=dbt_vars(hub)["as_of_date"],
                run_id=context.run_id, months=months, redeliver=config.redeliver)
        delivered = outcome.delivered
        # Fix the log's head under the hub's signature: from here on, cutting it shows.
        checkpoint = checkpoint_log(hub.disclosure_log_location(),
                                    load_or_create_signing_key(Path(hub.keys_dir)))
        return MaterializeResult(metadata={
            "funding_stream": FUNDING_STREAM, "months": f"{months[0]} .. {months[-1]}",
            "agreement_ids": MetadataValue.json(sorted(
                {a for d in delivered.values() for a in d["agreement_ids"]})),
            "municipalities": len(delivered),
            "statements": sum(len(d["months"]) for d in delivered.values()),
            "unchanged": len(outcome.unchanged),  # as last delivered: not written or logged
            "amount_cents": sum(d["amount_cents"] for d in delivered.values()),
            # Lines of months outside the range: the month in progress, until it closes.
            "months_not_delivered": MetadataValue.json(outcome.open_months),
            "outbox": str(outbox), "per_municipality": MetadataValue.json(delivered),
            "disclosure_log_checkpoint_seq": checkpoint.seq,
        })

    return billing_statements_delivery
