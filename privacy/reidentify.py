"""Re-identification: the only door out of the identity vault."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from ketenbrug.contracts.registers import Purpose, load_purposes
from ketenbrug.privacy.disclosure_log import LogLocation, append_entry
from ketenbrug.privacy.pseudonyms import require_version
from ketenbrug.privacy.subject_refs import subject_refs
from ketenbrug.privacy.vault import IdentityVault

# Persons re-identified per read of the vault (reidentify_each): a read costs a scan of
# the vault, and the decrypted identities of a round are held until its packages are made.
ROUND_PERSONS = 20_000
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
    ((_, identities),) = reidentify_each(
        vault, log_path, purpose=purpose, recipients={recipient: pseudonyms},
        source_datasets=source_datasets, run_id=run_id)
    return identities


def reidentify_each(
    vault: IdentityVault, log_path: LogLocation, *, purpose: str,
    recipients: Mapping[Recipient, Sequence[str]], source_datasets: Sequence[str],
    run_id: str | None = None, round_persons: int = ROUND_PERSONS,
) -> Iterator[tuple[Recipient, dict[str, dict[str, str]]]]:
    """`reidentify` for each of `recipients` (recipient -> its pseudonyms), in order:
    yields (recipient, identities), each disclosure logged just before it is yielded.

    Everything is refused before anyone is re-identified. The vault is read once per
    round of recipients holding up to `round_persons` persons, not once per recipient:
    a read scans the vault, and a thousand recipients made a thousand scans.
    """
    spec = _permitted(purpose, recipients)
    for pseudonyms in recipients.values():
        for pseudonym in pseudonyms:
            require_version(pseudonym, vault.key_version)
    for round_ in _rounds(recipients, round_persons):
        wanted = list(dict.fromkeys(p for _, pseudonyms in round_ for p in pseudonyms))
        found = vault.fetch(wanted, spec.reidentification_fields, SOURCE_PREFERENCE)
        for recipient, pseudonyms in round_:
            identities = {p: found[p] for p in dict.fromkeys(pseudonyms) if p in found}
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
            yield recipient, identities


def _permitted(purpose: str, recipients: Iterable[Recipient]) -> Purpose:
    purposes = load_purposes()
    if purpose not in purposes:
        raise NotPermitted(f"purpose {purpose!r} is not in the purposes register")
    spec = purposes[purpose]
    for recipient in recipients:
        if recipient.kind not in spec.recipient_kinds:
            raise NotPermitted(
                f"purpose {purpose!r} does not serve recipients of kind {recipient.kind!r}")
    if not spec.reidentification_fields:
        raise NotPermitted(f"purpose {purpose!r} permits no re-identification")
    return spec


def _rounds(recipients: Mapping[Recipient, Sequence[str]], round_persons: int
            ) -> Iterator[list[tuple[Recipient, Sequence[str]]]]:
    """Consecutive recipients, grouped until a group holds `round_persons` persons (a
    recipient with more is a round of its own)."""
    round_: list[tuple[Recipient, Sequence[str]]] = []
    size = 0
    for recipient, pseudonyms in recipients.items():
        if round_ and size + len(pseudonyms) > round_persons:
            yield round_
            round_, size = [], 0
        round_.append((recipient, pseudonyms))
        size += len(pseudonyms)
    if round_:
        yield round_
