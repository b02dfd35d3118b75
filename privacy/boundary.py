"""The boundary: identities leave a record here, before anything is written.

A record arrives as its permitted identity fields and its permitted other fields. The
identity is checked (the outcome kept as flags), sealed into the vault, and replaced by
the internal pseudonym of the BSN or, without one, of the documented combination of
name and date of birth (privacy.pseudonyms.linkage_basis). What comes out may land.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ketenbrug.privacy.bsn import is_valid_bsn
from ketenbrug.privacy.identity_checks import identity_issues
from ketenbrug.privacy.keys import KeyRing
from ketenbrug.privacy.pseudonyms import (
    INTERNAL_DOMAIN,
    Pseudonymiser,
    linkage_basis,
    payload_hasher,
)
from ketenbrug.privacy.vault import IdentityRecord, IdentityVault


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

    def __init__(self, keyring: KeyRing, vault: IdentityVault, source: str):
        self._internal = Pseudonymiser(keyring, INTERNAL_DOMAIN)
        self._payload = payload_hasher(keyring)
        self._vault = vault
        self._source = source

    def split(self, records: Sequence[IncomingRecord], has_identity: bool) -> BoundaryOutput:
        """Return landable rows (pseudonym + flags + fields + payload hash) for `records`."""
        bases = [linkage_basis(r.identity) for r in records] if has_identity else []
        pseudonyms = iter(self._internal.pseudonyms([b[1] for b in bases if b]))
        rows: list[dict] = []
        to_vault: list[IdentityRecord] = []
        for index, record in enumerate(records):
            row = dict(record.fields)
            row["_payload_hash"] = self._payload.hash(_canonical(record.raw))
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
                if pseudonym:
                    to_vault.append(IdentityRecord(
                        person_pseudonym=pseudonym, source=self._source,
                        fields={k: v for k, v in record.identity.items()
                                if v is not None and v != ""},
                    ))
            rows.append(row)
        stored = self._vault.store(to_vault) if to_vault else 0
        return BoundaryOutput(rows=rows, identities_stored=stored)


def _canonical(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
