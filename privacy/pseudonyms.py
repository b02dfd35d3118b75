"""Keyed pseudonyms: deterministic within a domain, unlinkable across domains.

One domain per recipient (the hub's internal linkage domain, each probation
organisation, each municipality, steering, the privacy officer). A recipient's
pseudonym is derived from the internal one, so re-keying never needs the identity.

A pseudonym reads `v<key version>-<32 hex>`: it carries the key version that made it,
so a pseudonym from before a rotation is recognised instead of silently not joining.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from cryptography.hazmat.primitives import hashes, hmac

from privacy.keys import KeyRing

INTERNAL_DOMAIN = "internal"
PSEUDONYM_HEX_CHARS = 32  # 128 bits: collision-free at national scale
_DIGEST_BYTES = PSEUDONYM_HEX_CHARS // 2
_PSEUDONYM = re.compile(r"v(\d+)-[0-9a-f]{32}")
_NOT_LETTER = re.compile(r"[^a-z]")

# Where a source gives no BSN, the person is linked on this documented combination:
# surname, given name and date of birth, normalised (accents and case folded, spaces,
# hyphens and apostrophes removed) so "Van der Berg" and "van der berg" link, but
# nothing fuzzier: a wrong link would attach another person's data to a profile.
COMBINATION_FIELDS = ("surname", "given_name", "birth_date")


class PseudonymError(Exception):
    """A value is not a pseudonym of this hub, or is of another key version."""


class Pseudonymiser:
    """HMAC-SHA256 pseudonyms for one domain under one key version."""

    def __init__(self, keyring: KeyRing, domain: str):
        if not domain:
            raise ValueError("a pseudonym domain must be named")
        self.domain = domain
        self.key_version = keyring.version
        self._prefix = f"v{keyring.version}-"
        # Keyed once; copy() per value avoids re-running the key schedule per row.
        self._template = hmac.HMAC(keyring.derive(f"pseudonym:{domain}"), hashes.SHA256())

    def pseudonym(self, value: str) -> str:
        """Return the pseudonym of `value` (a BSN basis, or a pseudonym to re-key)."""
        mac = self._template.copy()
        mac.update(value.encode())
        return self._prefix + mac.finalize()[:_DIGEST_BYTES].hex()

    def pseudonyms(self, values: Iterable[str]) -> list[str]:
        """Return the pseudonyms of `values`, in order (the hot path of bulk pseudonymising)."""
        template, prefix, out = self._template, self._prefix, []
        append = out.append
        for value in values:
            mac = template.copy()
            mac.update(value.encode())
            append(prefix + mac.finalize()[:_DIGEST_BYTES].hex())
        return out

    def digests(self, values: Iterable[str]) -> bytes:
        """The pseudonym-length HMAC digests of `values`, concatenated (privacy.bulk)."""
        template, out = self._template, []
        append = out.append
        for value in values:
            mac = template.copy()
            mac.update(value.encode())
            append(mac.finalize()[:_DIGEST_BYTES])
        return b"".join(out)

    def __repr__(self) -> str:
        return f"Pseudonymiser(domain={self.domain!r}, key_version={self.key_version})"


def linkage_basis(identity: Mapping[str, object]) -> tuple[str, str] | None:
    """Return (basis kind, basis text) to pseudonymise, or None when nothing can link.

    A BSN, when given (valid or not: its validity is flagged separately), else the
    documented combination of COMBINATION_FIELDS when all of them are present.
    """
    bsn = str(identity.get("bsn") or "").strip()
    if bsn:
        return "bsn", f"bsn:{bsn}"
    parts = [str(identity.get(f) or "").strip() for f in COMBINATION_FIELDS]
    if all(parts):
        surname, given_name, birth_date = parts
        return "name_birth_date", f"nbd:{_fold(surname)}|{_fold(given_name)}|{birth_date}"
    return None


def key_version_of(pseudonym: str) -> int:
    """The key version a pseudonym was made under; refuses anything else."""
    match = _PSEUDONYM.fullmatch(pseudonym or "")
    if not match:
        raise PseudonymError("not a Ketenbrug pseudonym (expected v<N>-<32 hex>)")
    return int(match.group(1))


def require_version(pseudonym: str, version: int) -> None:
    """Refuse a pseudonym of another key version with a clear error."""
    found = key_version_of(pseudonym)
    if found != version:
        raise PseudonymError(
            f"pseudonym is of key version {found}, the hub is on version {version}: "
            "it predates a rotation; look it up in the vault's pseudonym lineage")


def payload_hasher(keyring: KeyRing) -> Pseudonymiser:
    """A keyed hash for whole source payloads: proves what arrived without revealing it."""
    return Pseudonymiser(keyring, "payload")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _NOT_LETTER.sub("", "".join(c for c in decomposed if not unicodedata.combining(c)))
