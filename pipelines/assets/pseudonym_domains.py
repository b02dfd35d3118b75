"""Re-keying into recipient domains: each probation organisation sees its own pseudonyms."""

from pathlib import Path

import pyarrow as pa
from dagster import AssetKey, MaterializeResult, asset

from connectors import load_manifest
from pipelines import warehouse
from pipelines.assets.ingestion import landing_key
from pipelines.resources import HubStorage
from privacy import Pseudonymiser

CLIENTS = load_manifest("probation")["clients"]
STEERING_DOMAIN = "steering"


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
        pairs = con.execute(
            "select distinct c.person_pseudonym, c.organisation "  # noqa: S608 (manifest name)
            f"from landing.{CLIENTS.table} c join landing._batches b on b.batch_id = c._batch_id "
            "where b.status in ('passed', 'released') and c.person_pseudonym is not null"
        ).fetchall()
        domains = sorted({org for _, org in pairs if org} | {STEERING_DOMAIN})
        keyed = {d: Pseudonymiser(keyring, d) for d in domains}
        rows = {"person_pseudonym": [], "domain": [], "domain_pseudonym": []}
        for person, org in pairs:
            for domain in ({org} if org else set()) | {STEERING_DOMAIN}:
                rows["person_pseudonym"].append(person)
                rows["domain"].append(domain)
                rows["domain_pseudonym"].append(keyed[domain].pseudonym(person))
        con.register("incoming", pa.table(rows))
        con.execute("create schema if not exists privacy")
        con.execute("create or replace table privacy.domain_pseudonyms as "
                    "select distinct * from incoming")
        count = con.execute("select count(*) from privacy.domain_pseudonyms").fetchone()[0]
    return MaterializeResult(metadata={"rows": count, "domains": ", ".join(domains),
                                       "key_version": keyring.version})
