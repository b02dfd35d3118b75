"""Run config of the hub job's assets (the Dagster UI's launchpad; `--redeliver` and
`--rebuild` on `demo` and `run`)."""

from dagster import Config

# The op names of the two delivery assets (key delivery/<name>) and of the dbt models.
DELIVERY_OPS = ("delivery__warm_handover_packages", "delivery__billing_statements_delivery")
DBT_OP = "ketenbrug_dbt_models"


class DeliveryConfig(Config):
    """Deliver every package again, changed or not (default: only what changed,
    ketenbrug/delivery/unchanged.py)."""

    redeliver: bool = False


class DbtBuildConfig(Config):
    """Build every model again, its inputs changed or not (default: only when they
    changed, ketenbrug/warehouse/builds.py)."""

    rebuild: bool = False


def run_options(*, redeliver: bool = False, rebuild: bool = False) -> dict:
    """The run config for these options (empty: the defaults)."""
    ops: dict = {}
    if redeliver:
        ops.update({op: {"config": {"redeliver": True}} for op in DELIVERY_OPS})
    if rebuild:
        ops[DBT_OP] = {"config": {"rebuild": True}}
    return {"ops": ops} if ops else {}
