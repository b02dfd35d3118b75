"""Run config of the hub and billing jobs' assets (the Dagster UI's launchpad; `--redeliver`
and `--rebuild` on `demo` and `run`)."""

from dagster import Config

# The op names of the two delivery assets (key delivery/<name>) and of the dbt models.
HANDOVER_OP = "delivery__warm_handover_packages"
BILLING_OP = "delivery__billing_statements_delivery"
DBT_OP = "ketenbrug_dbt_models"


class DeliveryConfig(Config):
    """Deliver every package again, changed or not (default: only what changed,
    ketenbrug/delivery/unchanged.py)."""

    redeliver: bool = False


class DbtBuildConfig(Config):
    """Build every model again, its inputs changed or not (default: only when they
    changed, ketenbrug/warehouse/builds.py)."""

    rebuild: bool = False


def run_options(job: str = "hub", *, redeliver: bool = False, rebuild: bool = False) -> dict:
    """The run config of `job` (hub or billing) for these options (empty: the defaults)."""
    ops: dict = {}
    if redeliver:
        ops[HANDOVER_OP if job == "hub" else BILLING_OP] = {"config": {"redeliver": True}}
    if rebuild and job == "hub":
        ops[DBT_OP] = {"config": {"rebuild": True}}
    return {"ops": ops} if ops else {}
