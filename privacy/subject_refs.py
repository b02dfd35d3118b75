"""Subject references: which persons a disclosure concerned, without naming them.

The disclosure log must let a privacy officer answer a subject-access request ("was I
disclosed, to whom?") yet hold no personal data. Each entry lists the persons as
pseudonyms in the privacy officer's own audit domain: unlinkable to the warehouse or to
any recipient without the key, computable for one person on request.
"""

from __future__ import annotations

from collections.abc import Iterable

from ketenbrug.privacy.keys import KeyStore
from ketenbrug.privacy.pseudonyms import Pseudonymiser, key_version_of

AUDIT_DOMAIN = "audit"


def subject_refs(keys: KeyStore, internal_pseudonyms: Iterable[str]) -> list[str]:
    """Audit-domain references for internal pseudonyms, each under its own key version."""
    by_version: dict[int, Pseudonymiser] = {}
    refs = set()
    for pseudonym in internal_pseudonyms:
        version = key_version_of(pseudonym)
        if version not in by_version:
            by_version[version] = Pseudonymiser(keys.load(version), AUDIT_DOMAIN)
        refs.add(by_version[version].pseudonym(pseudonym))
    return sorted(refs)
