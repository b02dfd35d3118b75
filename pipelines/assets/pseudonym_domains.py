"""Re-keying into recipient domains: each probation organisation sees its own pseudonyms."""

from dagster import AssetKey, MaterializeResult, asset

from ketenbrug import warehouse
from ketenbrug.connectors import load_manifest
from ketenbrug.pipelines.assets.landing import landing_key
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.privacy.domains import DOMAIN_TABLE, STEERING_DOMAIN, sync_domain_pseudonyms

CLIENTS = load_manifest("probation")["clients"]


@asset(
    key=AssetKey(["privacy", "domain_pseudonyms"]), group_name="privacy",
    deps=[landing_key(CLIENTS)], kinds={"duckdb", "python"},
    description=("Internal pseudonyms re-keyed into each recipient's domain (the client's "
                 "probation organisation, and steering). Deterministic within a domain, "
                 "unlinkable across domains; computed from the internal pseudonym, never "
                 "from the identity."),
)
def domain_pseudonyms(hub: HubStorage) -> MaterializeResult:
    keyring = hub.keyring()
    published, statuses = warehouse.published_rows_sql(CLIENTS)
    # Each client in the domain of their probation organisation, and in steering's.
    wanted = (
        "select distinct person_pseudonym, organisation as domain "  # noqa: S608 (allow-listed)
        f"from ({published}) as clients where person_pseudonym is not null "
        "and coalesce(organisation, '') <> '' union "
        "select distinct person_pseudonym, cast(? as varchar) as domain "
        f"from ({published}) as clients where person_pseudonym is not null")
    with warehouse.connect(hub.warehouse_target()) as con:
        changes = sync_domain_pseudonyms(con, keyring, wanted,
                                         [*statuses, STEERING_DOMAIN, *statuses])
        domains = [d for (d,) in con.execute(
            f"select distinct domain from {DOMAIN_TABLE} order by 1").fetchall()]  # noqa: S608
    return MaterializeResult(metadata={
        "rows": changes.total, "added": changes.added, "removed": changes.removed,
        "domains": ", ".join(domains), "key_version": keyring.version})
