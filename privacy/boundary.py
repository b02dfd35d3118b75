"""The boundary: identities leave a record here, before anything is written.

A record arrives as its permitted identity fields and its permitted other fields. The
identity is checked (the outcome kept as flags), sealed into the vault, and replaced by
the internal pseudonym of the BSN or, without one, of the documented combination of
name and date of birth (privacy.pseudonyms.linkage_basis). What comes out may land.

The other fields are scanned for identities where the manifest marks them free text or
identifier (privacy.identity_detection). A free-text or identifier field that holds one
is withheld (null) and named with the rule in `identity_findings`, which the contract
quarantines on. A record whose key holds one is refused, not re-keyed: the key is how a
steward and the source find the record, and a re-keyed one could no longer be matched
to its next version; the refusal carries the rule and no key, and its identity is not
sealed into the vault.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Protocol

from ketenbrug.privacy.bsn import is_valid_bsn
from ketenbrug.privacy.identity_checks import identity_issues
from ketenbrug.privacy.identity_detection import (
    KnownBsns,
    find_identities,
    nine_digit_numbers,
)
from ketenbrug.privacy.keys import KeyRing
from ketenbrug.privacy.pseudonyms import (
    INTERNAL_DOMAIN,
    Pseudonymiser,
    linkage_basis,
    payload_hasher,
)
from ketenbrug.privacy.vault import IdentityRecord, IdentityVault

FINDINGS_COLUMN = "identity_findings"
REFUSED_BECAUSE = "_refused_because"  # set on a row that must not land; landing rejects it


class ScannedField(Protocol):
    """What the boundary reads of a manifest field (connectors.manifest.FieldSpec)."""

    @property
    def name(self) -> str: ...
    @property
    def form(self) -> str | None: ...
    @property
    def mailbox_roles(self) -> tuple[str, ...]: ...


class ScannedDataset(Protocol):
    """What the boundary reads of a dataset's manifest (connectors.manifest.DatasetManifest)."""

    @property
    def record_key(self) -> str: ...
    @property
    def scanned_fields(self) -> tuple[ScannedField, ...]: ...


@dataclass(frozen=True)
class IncomingRecord:
    """One source record after the allowlist: identity kept apart from the rest."""

    identity: dict[str, str | None]
    fields: dict[str, object]
    raw: dict  # the payload as received, only to compute its keyed hash


@dataclass(frozen=True)
class BoundaryOutput:
    rows: list[dict]  # landable: no identity in clear text
    identities_stored: int


class Boundary:
    """Splits identities off records of one source into the vault."""

    def __init__(self, keyring: KeyRing, vault: IdentityVault, source: str,
                 dataset: ScannedDataset | None = None):
        """`dataset` says which fields to scan for identities; without it none are."""
        self._internal = Pseudonymiser(keyring, INTERNAL_DOMAIN)
        self._payload = payload_hasher(keyring)
        self._vault = vault
        self._source = source
        self._known = KnownBsns(self._internal, vault)
        self._record_key = dataset.record_key if dataset else None
        self._scanned = tuple(dataset.scanned_fields) if dataset else ()

    def split(self, records: Sequence[IncomingRecord], has_identity: bool) -> BoundaryOutput:
        """Return landable rows (pseudonym + flags + fields + payload hash) for `records`."""
        bases = [linkage_basis(r.identity) for r in records] if has_identity else []
        pseudonyms = iter(self._internal.pseudonyms([b[1] for b in bases if b]))
        known: AbstractSet[str] = self._known_bsns(records) if self._scanned else frozenset()
        rows: list[dict] = []
        to_vault: list[IdentityRecord] = []
        for index, record in enumerate(records):
            row = dict(record.fields)
            row["_payload_hash"] = self._payload.hash(_canonical(record.raw))
            self._withhold_identities(row, known)
            if has_identity:
                bsn_text = str(record.identity.get("bsn") or "").strip()
                basis = bases[index]
                pseudonym = next(pseudonyms) if basis else None
                row["person_pseudonym"] = pseudonym
                row["pseudonym_basis"] = basis[0] if basis else None
                row["is_bsn_present"] = bool(bsn_text)
                # null without a BSN: the eleven-test rule judges only BSNs that were given
                row["is_bsn_valid"] = is_valid_bsn(bsn_text) if bsn_text else None
                row["identity_issues"] = ",".join(identity_issues(record.identity)) or None
                if REFUSED_BECAUSE in row:  # never lands: nothing links to it, nothing sealed
                    row["person_pseudonym"] = None
                elif pseudonym:
                    to_vault.append(IdentityRecord(
                        person_pseudonym=pseudonym, source=self._source,
                        fields={k: v for k, v in record.identity.items()
                                if v is not None and v != ""},
                    ))
            rows.append(row)
        stored = self._vault.store(to_vault) if to_vault else 0
        return BoundaryOutput(rows=rows, identities_stored=stored)

    def _known_bsns(self, records: Sequence[IncomingRecord]) -> set[str]:
        """The 9-digit numbers in scanned fields that are a known person's BSN: the vault
        asked once for the whole batch, the batch's own BSNs counted as known."""
        numbers = {n for r in records for f in self._scanned
                   for n in nine_digit_numbers(str(r.fields.get(f.name) or ""))}
        if not numbers:
            return set()
        own = {str(r.identity.get("bsn") or "").strip() for r in records}
        return self._known.among(numbers, also=own)

    def _withhold_identities(self, row: dict, known: AbstractSet[str]) -> None:
        """Null every scanned field that holds an identity, naming field and rule in
        `identity_findings`; mark the row refused when it is the record key's."""
        findings = []
        for spec in self._scanned:
            value = row.get(spec.name)
            if value in (None, "") or spec.form is None:
                continue
            rules = find_identities(str(value), spec.form, mailbox_roles=spec.mailbox_roles,
                                    known_bsns=known)
            if not rules:
                continue
            row[spec.name] = None  # the value never reaches the warehouse
            findings += [f"{spec.name}:{rule}" for rule in rules]
            if spec.name == self._record_key:
                row[REFUSED_BECAUSE] = (f"record key {spec.name} holds an identity "
                                        f"(rule {','.join(rules)}); the key is not stored")
        row[FINDINGS_COLUMN] = ",".join(findings) or None


def _canonical(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
