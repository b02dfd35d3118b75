"""Re-keying into recipient domains: each probation organisation sees its own pseudonyms."""

from dagster import AssetKey, MaterializeResult, asset

from ketenbrug import warehouse
from ketenbrug.connectors import load_manifest
from ketenbrug.pipelines.assets.landing import landing_key
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.privacy.domains import STEERING_DOMAIN, rekey, replace_domain_pseudonyms

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
    with warehouse.connect(hub.warehouse_target()) as con:
        published, statuses = warehouse.published_rows_sql(CLIENTS)
        clients = con.execute(
            "select distinct person_pseudonym, organisation "  # noqa: S608 (allow-listed)
            f"from ({published}) as clients where person_pseudonym is not null", statuses
        ).fetchall()
        pairs = {(person, domain) for person, org in clients
                 for domain in ({org} if org else set()) | {STEERING_DOMAIN}}
        rows = rekey(keyring, sorted(pairs))
        replace_domain_pseudonyms(con, rows)
    domains = sorted({d for _, d in pairs})
    return MaterializeResult(metadata={"rows": len(rows), "domains": ", ".join(domains),
                                       "key_version": keyring.version})
