"""Delivery of warm-handover packages as a Dagster asset; what is delivered, and how, is
ketenbrug.delivery.handover's."""

from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from ketenbrug.contracts.registers import load_purposes
from ketenbrug.delivery.handover import PURPOSE, deliver_handover_packages
from ketenbrug.pipelines.assets.dbt import dbt_vars
from ketenbrug.pipelines.assets.run_options import DeliveryConfig
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.pipelines.run_actor import run_actor
from ketenbrug.privacy.actor import acting_as
from ketenbrug.privacy.checkpoints import checkpoint_log
from ketenbrug.privacy.sealing import load_or_create_signing_key

WARM_HANDOVER = AssetKey(["warm_handover"])


@asset(
    key=AssetKey(["delivery", "warm_handover_packages"]), group_name="delivery",
    deps=[WARM_HANDOVER], kinds={"python"},
    description=("Sealed warm-handover packages (Pm art. 20d set), one per municipality of "
                 "intended settlement, under outbox/<CBS code>/. Only people handed over "
                 "through probation; short detentions go from the prison service directly."),
    metadata={"purpose": PURPOSE, "legal_basis": load_purposes()[PURPOSE].legal_basis},
)
def warm_handover_packages(context: AssetExecutionContext, hub: HubStorage,
                           config: DeliveryConfig) -> MaterializeResult:
    with acting_as(run_actor(context.run.tags)):
        outcome = deliver_handover_packages(
            warehouse=hub.warehouse_target(), keys_dir=Path(hub.keys_dir),
            keyring=hub.keyring(), vault=hub.vault(),
            disclosure_log=hub.disclosure_log_location(), outbox=Path(hub.outbox_dir),
            delivery_url=hub.delivery_url, as_of=dbt_vars()["as_of_date"],
            run_id=context.run_id, redeliver=config.redeliver)
    # Fix the log's head under the hub's signature: from here on, cutting it shows.
    checkpoint = checkpoint_log(hub.disclosure_log_location(),
                                load_or_create_signing_key(Path(hub.keys_dir)))
    delivered, duplicates = outcome.delivered, outcome.already_received
    return MaterializeResult(metadata={
        "packages": len(delivered), "persons": sum(delivered.values()),
        # As last delivered to them: not sealed, sent or logged again.
        "unchanged": len(outcome.unchanged),
        "channel": hub.delivery_url or hub.outbox_dir, "already_received": duplicates,
        "per_municipality": MetadataValue.json(delivered),
        "half_done_deliveries_completed": outcome.recovered,
        "undelivered_packages_removed": outcome.discarded,
        "disclosure_log_checkpoint_seq": checkpoint.seq,
        # Older for a source whose latest batch is in quarantine: the UI shows it is stale.
        "source_as_of": MetadataValue.json(outcome.source_as_of),
    })
