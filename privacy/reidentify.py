"""Re-identification: the only door out of the identity vault."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ketenbrug.contracts.registers import load_purposes
from ketenbrug.privacy.disclosure_log import LogLocation, append_entry
from ketenbrug.privacy.pseudonyms import require_version
from ketenbrug.privacy.subject_refs import subject_refs
from ketenbrug.privacy.vault import IdentityVault

# Where sources disagree on a name, the prison service's registration is the
# best-verified (identity checked at admission), then probation, then the rest.
SOURCE_PREFERENCE = ("dji", "probation", "wijkteam", "care")


class NotPermitted(Exception):
    """The purposes register does not allow this disclosure."""


@dataclass(frozen=True)
class Recipient:
    kind: str  # e.g. "municipality", "probation_organisation"
    id: str  # e.g. "GM0363", "RN"

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


def reidentify(
    vault: IdentityVault, log_path: LogLocation, *, purpose: str, recipient: Recipient,
    pseudonyms: Sequence[str], source_datasets: Sequence[str],
    run_id: str | None = None,
) -> dict[str, dict[str, str]]:
    """Return the identity fields `purpose` permits for `pseudonyms`, and log the disclosure.

    Refuses (NotPermitted) an unknown purpose, a recipient kind the purpose does not
    serve, or a purpose that permits no identity at all; refuses (PseudonymError) a
    pseudonym of another key version rather than silently finding nobody. The log entry
    names recipient, purpose, legal basis, fields, number of persons and sources, never
    the values.
    """
    purposes = load_purposes()
    if purpose not in purposes:
        raise NotPermitted(f"purpose {purpose!r} is not in the purposes register")
    spec = purposes[purpose]
    if recipient.kind not in spec.recipient_kinds:
        raise NotPermitted(
            f"purpose {purpose!r} does not serve recipients of kind {recipient.kind!r}")
    if not spec.reidentification_fields:
        raise NotPermitted(f"purpose {purpose!r} permits no re-identification")
    for pseudonym in pseudonyms:
        require_version(pseudonym, vault.key_version)
    identities = vault.fetch(pseudonyms, spec.reidentification_fields, SOURCE_PREFERENCE)
    append_entry(log_path, {
        "event": "reidentification",
        "recipient": str(recipient),
        "purpose": purpose,
        "legal_basis": spec.legal_basis,
        "fields": list(spec.reidentification_fields),
        "persons": len(identities),
        "source_datasets": sorted(source_datasets),
        "run_id": run_id,
        "subject_refs": subject_refs(vault.keys, list(identities)),
    })
    return identities
