"""Warm handover: one sealed package per municipality, in its own outbox folder.

Re-identification happens here and only here, through privacy.reidentify, which checks
the purposes register and writes the disclosure log. Each package is signed by the hub
and encrypted for the one municipality it is meant for. The warehouse is a Target (a
DuckDB file or a PostgreSQL database), read in one read-only unit of work.
"""

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from ketenbrug import warehouse as warehouse_db
from ketenbrug.contracts.registers import load_purposes
from ketenbrug.databases import Target, fetch_rows, marts_schema
from ketenbrug.delivery.handover_package import data_checksum, handover_files, handover_manifest
from ketenbrug.delivery.person_ref_changes import CHANGES_FILE, MANIFEST_KEY, FormerRefs
from ketenbrug.delivery.recipient_keys import recipient_public_key
from ketenbrug.delivery.transport import (
    PACKAGE_SUFFIX,
    Delivered,
    idempotency_key,
    package_sha256,
    publish_staged,
    recover_outbox,
    stage_in_outbox,
    to_endpoint,
)
from ketenbrug.delivery.unchanged import CONTENT_STAMP, content_stamp, last_stamps
from ketenbrug.failpoints import failpoint
from ketenbrug.privacy import Recipient, append_entry, read_log, seal_package
from ketenbrug.privacy.disclosure_log import LogLocation, log_head
from ketenbrug.privacy.domains import rekey
from ketenbrug.privacy.hub_key import publish_hub_key
from ketenbrug.privacy.keys import KeyRing
from ketenbrug.privacy.reidentify import reidentify_each
from ketenbrug.privacy.rotation import linkage_state
from ketenbrug.privacy.sealing import load_or_create_signing_key
from ketenbrug.privacy.subject_refs import subject_refs
from ketenbrug.privacy.vault import IdentityVault

PURPOSE = "warm_handover"
SOURCE_DATASETS = ("dji.detentions", "probation.clients", "probation.orders",
                   "wijkteam.involvements", "care.episodes")
IDENTITY_COLUMNS = ("bsn", "given_name", "surname", "birth_date")
# The person in the municipality's own pseudonym domain: stable across its packages, so
# it can match this week's handover to last week's without keying on the BSN, and
# unlinkable to what probation organisations or other municipalities hold. A key rotation
# changes it; the package after one maps old to new (delivery/person_ref_changes.py).
PERSON_REF = "person_ref"
HANDOVER_COLUMNS = (
    "handover_id", "event_type", "expected_date", "institution", "contact_point",
    "valid_id_status", "housing_status", "income_status", "debts_status", "care_status",
    "missing_conditions_count", "needs_care_handover", "has_wijkteam_involvement",
)


@dataclass(frozen=True)
class HandoverDelivery:
    delivered: dict[str, int]  # CBS code -> persons in its package
    already_received: int  # packages the endpoint recognised by their idempotency key
    recovered: int = 0  # half-done deliveries of a killed run, completed
    discarded: int = 0  # staged packages a killed run never delivered, removed
    source_as_of: dict[str, str | None] = field(default_factory=dict)  # freshness per source
    unchanged: list[str] = field(default_factory=list)  # CBS codes whose package is as last


def deliver_handover_packages(*, warehouse: Target, keys_dir: Path, keyring: KeyRing,
                              vault: IdentityVault, disclosure_log: LogLocation, outbox: Path,
                              delivery_url: str, as_of: str, run_id: str,
                              redeliver: bool = False) -> HandoverDelivery:
    """Seal and deliver one package per municipality with people in the handover window,
    where it differs from the last one delivered to that municipality (all: `redeliver`).

    Re-identifies through privacy.reidentify (which refuses a purpose or recipient the
    register does not allow), delivers to `outbox` or POSTs to `delivery_url`, and logs
    each delivery. An unchanged package is not re-identified, sealed or logged
    (delivery/unchanged.py). Returns what went to whom. Refuses (LinkageInconsistent)
    while a key rotation is unfinished.
    """
    # Re-identifying across an unfinished key rotation would match nobody, or the wrong key.
    linkage_state(vault.keys, vault.target, warehouse).require_consistent(
        "warm-handover delivery")
    logged = read_log(disclosure_log)
    recovered = recover_outbox(outbox, delivered_packages(logged))
    last = {} if redeliver else last_stamps(logged, PURPOSE)
    with warehouse_db.connect(warehouse, read_only=True) as con:
        # Plain values, not a frame: a date stays a date and a missing count empty in the
        # package, on either engine.
        _, found = fetch_rows(
            con,
            f"select municipality_code, person_pseudonym, {', '.join(HANDOVER_COLUMNS)} "  # noqa: S608
            f"from {marts_schema(con)}.warm_handover where handover_route = 'probation' "
            "order by municipality_code, expected_date, handover_id")
        source_as_of = warehouse_db.published_as_of(con)
    by_municipality: dict[str, list[dict]] = {}
    for row in found:
        by_municipality.setdefault(row["municipality_code"], []).append(row)
    signing_key = load_or_create_signing_key(keys_dir)
    purpose = load_purposes()[PURPOSE]
    delivered, duplicates, unchanged = {}, 0, []
    columns = [*IDENTITY_COLUMNS, PERSON_REF, *HANDOVER_COLUMNS]
    persons_of = {code: list(dict.fromkeys(r["person_pseudonym"] for r in rows))
                  for code, rows in by_municipality.items()}
    sealed = vault.sealed_stamps(persons_of, IDENTITY_COLUMNS)
    # Who was sent what under which key: a package after a rotation maps old refs to new.
    former_refs = FormerRefs(vault.keys, logged, PURPOSE, vault.lineage)
    pending: dict[str, tuple[str, X25519PublicKey]] = {}  # CBS code -> (content stamp, its key)
    for code, rows in sorted(by_municipality.items()):
        recipient_key = recipient_public_key(keys_dir, code)  # registered, or the stand-in
        # What the package would hold, and where it goes, told before anyone is
        # re-identified: a new channel has not received the last package.
        stamp = content_stamp(
            columns, [[r["person_pseudonym"], *(r[c] for c in HANDOVER_COLUMNS)] for r in rows],
            keyring.version, sealed[code],
            recipient_key.public_bytes_raw().hex(), delivery_url or "outbox")
        if last.get(str(Recipient("municipality", code))) == stamp:
            unchanged.append(code)
        else:
            pending[code] = (stamp, recipient_key)
    disclosures = reidentify_each(
        vault, disclosure_log, purpose=PURPOSE, source_datasets=SOURCE_DATASETS,
        recipients={Recipient("municipality", code): persons_of[code] for code in pending},
        run_id=run_id)
    for recipient, identities in disclosures:
        code, rows, persons = recipient.id, by_municipality[recipient.id], persons_of[recipient.id]
        stamp, recipient_key = pending[code]
        refs = {person: ref for person, _, ref in rekey(keyring, [(p, code) for p in persons])}
        records = [
            [identities.get(r["person_pseudonym"], {}).get(c) for c in IDENTITY_COLUMNS]
            + [refs[r["person_pseudonym"]]] + [r[c] for c in HANDOVER_COLUMNS]
            for r in rows
        ]
        files = handover_files(columns, records)
        changes = former_refs.changes(str(recipient), code, refs, keyring.version)
        if changes is not None:
            files[CHANGES_FILE] = changes.csv()
        manifest = handover_manifest(
            purpose=PURPOSE, legal_basis=purpose.legal_basis, as_of=as_of, rows=len(records),
            run_id=run_id, key_version=keyring.version,
            source_datasets=SOURCE_DATASETS, source_as_of=source_as_of,
            log_head=log_head(disclosure_log))
        if changes is not None:
            manifest[MANIFEST_KEY] = changes.manifest_entry()
        blob = seal_package(files, manifest, recipient_id=code, recipient_key=recipient_key,
                            signing_key=signing_key)
        name = f"warm_handover_{as_of}{PACKAGE_SUFFIX}"
        # Delivered and logged as one recoverable step: the package is staged, the entry
        # written, and only then the package put in place (or, POSTed, then logged; a
        # repeat POST carries the same idempotency key and is received once).
        staged = None
        if delivery_url:
            key = idempotency_key(code, PURPOSE, as_of, data_checksum(files))
            where = to_endpoint(delivery_url, code, name, blob, key)
            failpoint("delivery:sent")
        else:
            staged = stage_in_outbox(outbox, code, name, blob)
            publish_hub_key(staged.parent, signing_key.public_key())  # to verify it with
            where = Delivered(str(staged.with_name(name)), duplicate=False)
            failpoint("delivery:staged")
        duplicates += where.duplicate
        append_entry(disclosure_log, {
            "event": "delivery", "recipient": str(recipient), "purpose": PURPOSE,
            "legal_basis": purpose.legal_basis,
            "fields": columns if changes is None else [*columns, "former_person_ref"],
            "persons": len(records), "source_datasets": list(SOURCE_DATASETS),
            "run_id": run_id, "package": name, "channel": where.where,
            "package_sha256": package_sha256(blob), CONTENT_STAMP: stamp,
            "subject_refs": subject_refs(vault.keys, list(identities)),
            **({} if changes is None else {MANIFEST_KEY: len(changes.pairs)}),
        })
        if staged is not None:
            failpoint("delivery:logged")
            publish_staged(staged)
        delivered[code] = len(records)
    return HandoverDelivery(delivered, duplicates, *recovered,
                            source_as_of={ds: source_as_of.get(ds) for ds in SOURCE_DATASETS},
                            unchanged=unchanged)


def delivered_packages(entries: list[dict]) -> set[tuple[str, str]]:
    """(package path, checksum) of every outbox delivery among the log's `entries`."""
    return {(e["channel"], e["package_sha256"]) for e in entries
            if e.get("event") == "delivery" and e.get("package_sha256")}
