"""Delivery: one sealed warm-handover package per municipality, in its own outbox folder.
Re-identification happens here and only here, through privacy.reidentify, which checks
the purposes register and writes the disclosure log. Each package is signed by the hub
and encrypted for the one municipality it is meant for.
"""


from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines import warehouse
from pipelines.assets.dbt import dbt_vars
from pipelines.delivery_transport import idempotency_key, to_endpoint, to_outbox
from pipelines.handover_package import data_checksum, handover_files, handover_manifest
from pipelines.resources import HubStorage
from privacy import Recipient, append_entry, reidentify, seal_package
from privacy.domains import rekey
from privacy.purposes import load_purposes
from privacy.sealing import load_or_create_recipient_key, load_or_create_signing_key
from privacy.subject_refs import subject_refs

PURPOSE = "warm_handover"
WARM_HANDOVER = AssetKey(["warm_handover"])
SOURCE_DATASETS = ("dji.detentions", "probation.clients", "probation.orders",
                   "wijkteam.involvements", "care.episodes")
IDENTITY_COLUMNS = ("bsn", "given_name", "surname", "birth_date")
# The person in the municipality's own pseudonym domain: stable across its packages, so
# it can match this week's handover to last week's without keying on the BSN, and
# unlinkable to what probation organisations or other municipalities hold.
PERSON_REF = "person_ref"
HANDOVER_COLUMNS = (
    "handover_id", "event_type", "expected_date", "institution", "contact_point",
    "valid_id_status", "housing_status", "income_status", "debts_status", "care_status",
    "missing_conditions_count", "needs_care_handover", "has_wijkteam_involvement",
)


@asset(
    key=AssetKey(["delivery", "warm_handover_packages"]), group_name="delivery",
    deps=[WARM_HANDOVER], kinds={"python"},
    description=("Sealed warm-handover packages (Pm art. 20d set), one per municipality of "
                 "intended settlement, under outbox/<CBS code>/. Only people handed over "
                 "through probation; short detentions go from the prison service directly."),
    metadata={"purpose": PURPOSE, "legal_basis": load_purposes()[PURPOSE].legal_basis},
)
def warm_handover_packages(context: AssetExecutionContext, hub: HubStorage) -> MaterializeResult:
    with warehouse.connect(Path(hub.warehouse_path), read_only=True) as con:
        frame = con.execute(
            f"select municipality_code, person_pseudonym, {', '.join(HANDOVER_COLUMNS)} "  # noqa: S608
            "from main.warm_handover where handover_route = 'probation' "
            "order by municipality_code, expected_date, handover_id").df()
    keys_dir, keyring = Path(hub.keys_dir), hub.keyring()
    signing_key = load_or_create_signing_key(keys_dir)
    vault, log_path = hub.vault(), Path(hub.disclosure_log)
    as_of = dbt_vars()["as_of_date"]
    purpose = load_purposes()[PURPOSE]
    delivered, duplicates = {}, 0
    columns = [*IDENTITY_COLUMNS, PERSON_REF, *HANDOVER_COLUMNS]
    for code, rows in frame.groupby("municipality_code", sort=True):
        recipient = Recipient("municipality", code)
        persons = rows["person_pseudonym"].unique().tolist()
        identities = reidentify(vault, log_path, purpose=PURPOSE, recipient=recipient,
                                pseudonyms=persons, source_datasets=SOURCE_DATASETS,
                                run_id=context.run_id)
        refs = {person: ref for person, _, ref in rekey(keyring, [(p, code) for p in persons])}
        records = [
            [identities.get(r.person_pseudonym, {}).get(c) for c in IDENTITY_COLUMNS]
            + [refs[r.person_pseudonym]] + [getattr(r, c) for c in HANDOVER_COLUMNS]
            for r in rows.itertuples(index=False)
        ]
        files = handover_files(columns, records)
        manifest = handover_manifest(
            purpose=PURPOSE, legal_basis=purpose.legal_basis, as_of=as_of, rows=len(records),
            run_id=context.run_id, key_version=keyring.version,
            source_datasets=SOURCE_DATASETS)
        blob = seal_package(files, manifest, recipient_id=code,
                            recipient_key=load_or_create_recipient_key(keys_dir, code).public_key(),
                            signing_key=signing_key)
        name = f"warm_handover_{as_of}.kbpkg"
        if hub.delivery_url:
            key = idempotency_key(code, PURPOSE, as_of, data_checksum(files))
            where = to_endpoint(hub.delivery_url, code, name, blob, key)
        else:
            where = to_outbox(Path(hub.outbox_dir), code, name, blob)
        duplicates += where.duplicate
        append_entry(log_path, {
            "event": "delivery", "recipient": str(recipient), "purpose": PURPOSE,
            "legal_basis": purpose.legal_basis, "fields": columns,
            "persons": len(records), "source_datasets": list(SOURCE_DATASETS),
            "run_id": context.run_id, "package": name, "channel": where.where,
            "subject_refs": subject_refs(vault.keys, list(identities)),
        })
        delivered[code] = len(records)
    return MaterializeResult(metadata={
        "packages": len(delivered), "persons": sum(delivered.values()),
        "channel": hub.delivery_url or hub.outbox_dir, "already_received": duplicates,
        "per_municipality": MetadataValue.json(delivered),
    })
