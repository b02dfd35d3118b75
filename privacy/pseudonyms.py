"""Keyed pseudonyms: deterministic within a domain, unlinkable across domains.

One domain per recipient (the hub's internal linkage domain, each probation
organisation, each municipality, steering, the privacy officer). A recipient's
pseudonym is derived from the internal one, so re-keying never needs the identity.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography.hazmat.primitives import hashes, hmac

from privacy.keys import KeyRing

INTERNAL_DOMAIN = "internal"
PSEUDONYM_HEX_CHARS = 32  # 128 bits: collision-free at national scale


class Pseudonymiser:
    """HMAC-SHA256 pseudonyms for one domain under one key version."""

    def __init__(self, keyring: KeyRing, domain: str):
        if not domain:
            raise ValueError("a pseudonym domain must be named")
        self.domain = domain
        self.key_version = keyring.version
        # Keyed once; copy() per value avoids re-running the key schedule per row.
        self._template = hmac.HMAC(keyring.derive(f"pseudonym:{domain}"), hashes.SHA256())

    def pseudonym(self, value: str) -> str:
        """Return the pseudonym of `value` (a BSN, or an internal pseudonym to re-key)."""
        mac = self._template.copy()
        mac.update(value.encode())
        return mac.finalize().hex()[:PSEUDONYM_HEX_CHARS]

    def pseudonyms(self, values: Iterable[str]) -> list[str]:
        """Return the pseudonyms of `values`, in order."""
        return [self.pseudonym(v) for v in values]

    def __repr__(self) -> str:
        return f"Pseudonymiser(domain={self.domain!r}, key_version={self.key_version})"


def payload_hasher(keyring: KeyRing) -> Pseudonymiser:
    """A keyed hash for whole source payloads: proves what arrived without revealing it."""
    return Pseudonymiser(keyring, "payload")
