"""Run config of the delivery assets (the Dagster UI's launchpad, `--redeliver`)."""

from dagster import Config

# The op names of the two delivery assets (key delivery/<name>), for run config.
DELIVERY_OPS = ("delivery__warm_handover_packages", "delivery__billing_statements_delivery")


class DeliveryConfig(Config):
    """Deliver every package again, changed or not (default: only what changed,
    ketenbrug/delivery/unchanged.py)."""

    redeliver: bool = False


def redeliver_run_config() -> dict:
    """The run config that makes both delivery assets deliver everything again."""
    return {"ops": {op: {"config": {"redeliver": True}} for op in DELIVERY_OPS}}
