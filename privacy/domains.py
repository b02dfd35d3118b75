"""Re-keying into recipients' domains: the only place a pseudonym changes domain.

A domain is named after its recipient: a probation organisation's code (RN, SVG, LJR),
a municipality's CBS code (GM0363), `steering`; the privacy officer's is the audit
domain of privacy.subject_refs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ketenbrug.privacy.keys import KeyRing
from ketenbrug.privacy.pseudonyms import Pseudonymiser, require_version

STEERING_DOMAIN = "steering"
# (person_pseudonym, domain, domain_pseudonym): each person in each recipient's domain.
DOMAIN_TABLE = "privacy.domain_pseudonyms"
# (person_pseudonym, domain, former_domain_pseudonym): what a recipient knew a person as
# before a rotation. Holding person_pseudonym, it is relinked by later rotations and
# purged by retention like every other table of persons.
FORMER_TABLE = "privacy.former_domain_pseudonyms"


def rekey(keyring: KeyRing, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Return (internal pseudonym, domain, domain pseudonym) for each (internal, domain) pair.

    Refuses (PseudonymError) an internal pseudonym of another key version: re-keying a
    stale pseudonym would hand a recipient an identifier that joins to nothing.
    """
    pairs = list(pairs)
    by_domain: dict[str, list[str]] = defaultdict(list)
    for internal, domain in pairs:
        require_version(internal, keyring.version)
        by_domain[domain].append(internal)
    rekeyed = {domain: iter(Pseudonymiser(keyring, domain).pseudonyms(internals))
               for domain, internals in by_domain.items()}
    return [(internal, domain, next(rekeyed[domain])) for internal, domain in pairs]
