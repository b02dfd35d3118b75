"""Re-keying into recipients' domains: the only place a pseudonym changes domain."""

from __future__ import annotations

from collections.abc import Iterable

from privacy.keys import KeyRing
from privacy.pseudonyms import Pseudonymiser, require_version

STEERING_DOMAIN = "steering"


def rekey(keyring: KeyRing, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Return (internal pseudonym, domain, domain pseudonym) for each (internal, domain) pair.

    Refuses (PseudonymError) an internal pseudonym of another key version: re-keying a
    stale pseudonym would hand a recipient an identifier that joins to nothing.
    """
    by_domain: dict[str, Pseudonymiser] = {}
    rows = []
    for internal, domain in pairs:
        require_version(internal, keyring.version)
        if domain not in by_domain:
            by_domain[domain] = Pseudonymiser(keyring, domain)
        rows.append((internal, domain, by_domain[domain].pseudonym(internal)))
    return rows
