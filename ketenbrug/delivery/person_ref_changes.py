"""A municipality's `person_ref` across a key rotation: the package carries old -> new.

Why `person_ref` changes at all. It is the person's internal pseudonym re-keyed into the
municipality's domain under the current master key. A rotation exists to end the damage
of a leaked key: after it, what the hub hands out can no longer be recomputed or linked
with the old key. A `person_ref` kept stable across rotations would have to come from a
key that is never rotated, and a leak of that one key would expose every reference the
municipality ever held or will hold (a key holder enumerates all BSNs in minutes), with
no remedy. So the reference follows the key, and the hub tells the municipality what
changed instead.

What is told. A package carries `person_ref_changes.csv` (former_person_ref, person_ref)
for each person in it whom this municipality was sent before under an older key and has
not yet been sent under the current one: in practice the first package after a rotation,
but also a later one where a person it held before a rotation returns. The former
reference is the one of the newest older key it was sent that person under, so a
municipality that skipped a rotation (last received under v1, the hub now on v3) gets
v1 -> v3. The manifest says so: `person_ref_changes` with `rows`, `from_key_versions`
and `to_key_version`. Once every person of a package has been sent under the current
key, it carries no map.

Whom it covers, and why no more. Only persons in the package the map travels in, and of
them only those the municipality was sent before. A person in the package it never
received has no former reference it could hold. A person it received before but who is
no longer in its handover window is not its business any more: a new reference for
them would be a fresh disclosure about a person the purpose no longer gives it, made
only in case data on them may come again. Should they return, the package that brings
them back carries their line. So the map tells the municipality nothing it does not
already hold: both references name a person it receives now and was sent before.

How the hub knows who was sent what. From its own records, never from the packages
(sealed for the recipient): each delivery entry on the disclosure log lists its persons
as `subject_refs`, the privacy officer's references under the key version of that time;
the vault's pseudonym lineage walks a person's current internal pseudonym back through
every rotation; and the older keys, kept as history, recompute the former reference.
(privacy.former_domain_pseudonyms cannot answer it: a municipality's refs are made
at delivery, never kept in the domain tables.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ketenbrug.privacy.csv_safe import to_csv
from ketenbrug.privacy.keys import KeyStore
from ketenbrug.privacy.pseudonyms import Pseudonymiser, key_version_of
from ketenbrug.privacy.subject_refs import AUDIT_DOMAIN

CHANGES_FILE = "person_ref_changes.csv"
CHANGES_COLUMNS = ("former_person_ref", "person_ref")
MANIFEST_KEY = "person_ref_changes"  # the manifest's (and the delivery entry's) field

Lineage = Iterable[tuple[str, str, int, int]]  # (old, new, from_version, to_version)


@dataclass(frozen=True)
class PersonRefChanges:
    """The map one package carries: (former_person_ref, person_ref) per person."""

    pairs: list[tuple[str, str]]
    from_key_versions: list[int]
    to_key_version: int

    def csv(self) -> bytes:
        """The map as the package's `person_ref_changes.csv`."""
        return to_csv(CHANGES_COLUMNS, self.pairs)

    def manifest_entry(self) -> dict:
        """What the manifest says about the map."""
        return {"file": CHANGES_FILE, "rows": len(self.pairs),
                "from_key_versions": self.from_key_versions,
                "to_key_version": self.to_key_version}


class FormerRefs:
    """Who each recipient was sent under which key, and what it knew them as then.

    Built once per delivery run from the disclosure log's entries; the vault's lineage
    is read only when a person in a package has not been sent under the current key.
    """

    def __init__(self, keys: KeyStore, log_entries: Iterable[Mapping], purpose: str,
                 lineage: Callable[[], Lineage]):
        self._keys = keys
        self._lineage = lineage
        self._older: dict[str, str] | None = None  # new internal pseudonym -> the one before
        self._pseudonymisers: dict[tuple[int, str], Pseudonymiser] = {}
        self._sent: dict[str, set[str]] = defaultdict(set)  # recipient -> subject_refs
        for entry in log_entries:
            if entry.get("event") == "delivery" and entry.get("purpose") == purpose:
                self._sent[str(entry.get("recipient"))].update(entry.get("subject_refs") or [])

    def changes(self, recipient: str, domain: str, refs: Mapping[str, str],
                key_version: int) -> PersonRefChanges | None:
        """The map for a package to `recipient` (in pseudonym `domain`) whose persons are
        `refs` (internal pseudonym -> person_ref under `key_version`); None when no person
        in it was sent before under an older key only."""
        sent = self._sent.get(recipient)
        if not sent:
            return None
        pairs, versions = [], set()
        for person, ref in refs.items():
            if self._audit_ref(key_version, person) in sent:
                continue  # already sent under the current key: it holds this ref
            former = self._former(person, domain, sent)
            if former is not None:
                versions.add(key_version_of(former))
                pairs.append((former, ref))
        if not pairs:
            return None
        return PersonRefChanges(sorted(pairs), sorted(versions), key_version)

    def _former(self, person: str, domain: str, sent: set[str]) -> str | None:
        """The person's ref in `domain` under the newest older key it was sent under."""
        older = self._older_pseudonyms()
        current, version = person, key_version_of(person)
        while (previous := older.get(current)) is not None:
            previous_version = key_version_of(previous)
            if previous_version >= version:  # lineage only ever goes to a newer key
                return None
            current, version = previous, previous_version
            if self._audit_ref(version, current) in sent:
                return self._pseudonymiser(version, domain).pseudonym(current)
        return None

    def _older_pseudonyms(self) -> dict[str, str]:
        if self._older is None:
            self._older = {new: old for old, new, _, _ in self._lineage()}
        return self._older

    def _audit_ref(self, version: int, internal: str) -> str:
        # As privacy.subject_refs writes them on the log: under the pseudonym's own version.
        return self._pseudonymiser(version, AUDIT_DOMAIN).pseudonym(internal)

    def _pseudonymiser(self, version: int, domain: str) -> Pseudonymiser:
        if (version, domain) not in self._pseudonymisers:
            self._pseudonymisers[version, domain] = Pseudonymiser(self._keys.load(version),
                                                                  domain)
        return self._pseudonymisers[version, domain]
