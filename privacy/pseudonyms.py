"""Keyed pseudonyms: deterministic within a domain, unlinkable across domains.

A pseudonym is the synthetic IV of AES-SIV (RFC 5297) of the value under the domain's
key rather than an HMAC-SHA256: a value of one AES block (a BSN basis) pseudonymises in
bulk as a single cipher call (privacy.s2v).

One domain per recipient (the hub's internal linkage domain, each probation
organisation, each municipality, steering, the privacy officer). A recipient's
pseudonym is derived from the internal one, so re-keying never needs the identity.

A pseudonym reads `v<key version>-<32 hex>`: it carries the key version that made it,
so a pseudonym from before a rotation is recognised instead of silently not joining.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
from cryptography.hazmat.primitives import hashes, hmac

from ketenbrug.privacy.keys import KeyRing
from ketenbrug.privacy.s2v import KEY_BYTES, S2V

INTERNAL_DOMAIN = "internal"
PSEUDONYM_HEX_CHARS = 32  # 128 bits: collision-free at national scale
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8)
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
    """Pseudonyms for one domain under one key version: AES-SIV's synthetic IV (privacy.s2v).

    One value at a time (`pseudonym`) or a whole batch at once (`pseudonyms`,
    `pseudonyms_arrow`: a million BSNs in a fraction of a second on one core).
    """

    def __init__(self, keyring: KeyRing, domain: str):
        if not domain:
            raise ValueError("a pseudonym domain must be named")
        self.domain = domain
        self.key_version = keyring.version
        self._prefix = f"v{keyring.version}-"
        self._s2v = S2V(keyring.derive(f"pseudonym:{domain}", length=KEY_BYTES))

    def pseudonym(self, value: str) -> str:
        """Return the pseudonym of `value` (a linkage basis, or a pseudonym to re-key)."""
        return self._prefix + self._s2v.tag(value.encode()).hex()

    def pseudonyms(self, values: Sequence[str] | pa.Array) -> list[str]:
        """Return the pseudonyms of `values`, in order."""
        text = self._rows(values).tobytes().decode("ascii")
        width = len(self._prefix) + PSEUDONYM_HEX_CHARS
        return [text[i:i + width] for i in range(0, len(text), width)]

    def pseudonyms_arrow(self, values: Sequence[str] | pa.Array) -> pa.Array:
        """The same as an Arrow string array, built without a Python string per value
        (what a bulk load into DuckDB wants); a large_string one past 2 GiB of text."""
        rows = self._rows(values)
        large = rows.size >= 2**31
        offsets = np.arange(0, rows.size + 1, rows.shape[1], dtype=np.int64 if large else np.int32)
        kind = pa.LargeStringArray if large else pa.StringArray
        return kind.from_buffers(len(rows), pa.py_buffer(offsets), pa.py_buffer(rows))

    def _rows(self, values: Sequence[str] | pa.Array) -> np.ndarray:
        """All pseudonyms as fixed-width ASCII rows: the prefix, then the tag in hex."""
        tags = self._s2v.tags(values)
        prefix = np.frombuffer(self._prefix.encode(), np.uint8)
        rows = np.empty((len(tags), len(prefix) + PSEUDONYM_HEX_CHARS), np.uint8)
        rows[:, :len(prefix)] = prefix
        rows[:, len(prefix)::2] = _HEX_DIGITS[tags >> 4]
        rows[:, len(prefix) + 1::2] = _HEX_DIGITS[tags & 0x0F]
        return rows

    def __repr__(self) -> str:
        return f"Pseudonymiser(domain={self.domain!r}, key_version={self.key_version})"


class PayloadHasher:
    """A keyed HMAC-SHA256 of whole source payloads: proves what arrived without
    revealing it. Payloads are long and never joined on, so HMAC rather than S2V."""

    def __init__(self, keyring: KeyRing):
        self._prefix = f"v{keyring.version}-"
        # Keyed once; copy() per value avoids re-running the key schedule per row.
        self._template = hmac.HMAC(keyring.derive("payload"), hashes.SHA256())

    def hash(self, payload_text: str) -> str:
        mac = self._template.copy()
        mac.update(payload_text.encode())
        return self._prefix + mac.finalize()[:PSEUDONYM_HEX_CHARS // 2].hex()


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


def payload_hasher(keyring: KeyRing) -> PayloadHasher:
    """The keyed hash for whole source payloads under `keyring`."""
    return PayloadHasher(keyring)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _NOT_LETTER.sub("", "".join(c for c in decomposed if not unicodedata.combining(c)))
