"""Re-keying into recipient domains: each probation organisation sees its own pseudonyms."""

from pathlib import Path

import pyarrow as pa
from dagster import AssetKey, MaterializeResult, asset

from ketenbrug import warehouse
from ketenbrug.connectors import load_manifest
from ketenbrug.pipelines.assets.landing import landing_key
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.privacy.domains import STEERING_DOMAIN, rekey
from ketenbrug.warehouse.schema import DOMAIN_PSEUDONYMS

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
    with warehouse.connect(Path(hub.warehouse_path)) as con:
        published, statuses = warehouse.published_rows_sql(CLIENTS)
        clients = con.execute(
            "select distinct person_pseudonym, organisation "  # noqa: S608 (allow-listed)
            f"from ({published}) as clients where person_pseudonym is not null", statuses
        ).fetchall()
        pairs = {(person, domain) for person, org in clients
                 for domain in ({org} if org else set()) | {STEERING_DOMAIN}}
        rows = rekey(keyring, sorted(pairs))
        con.register("incoming", pa.table({
            "person_pseudonym": [r[0] for r in rows], "domain": [r[1] for r in rows],
            "domain_pseudonym": [r[2] for r in rows]}))
        con.execute("create schema if not exists privacy")
        con.execute(f"create or replace table {DOMAIN_PSEUDONYMS} as select * from incoming")
    domains = sorted({d for _, d in pairs})
    return MaterializeResult(metadata={"rows": len(rows), "domains": ", ".join(domains),
                                       "key_version": keyring.version})
