"""AES-SIV's synthetic IV (S2V, RFC 5297 §2.4) as a keyed pseudorandom function.

`tag(value)` asks `cryptography`'s AESSIV for the synthetic IV of `value` (no associated
data): deterministic under a key, unpredictable without it. The ciphertext is thrown
away, so nothing here can be decrypted back to the value.

`tags(values)` gives the same tags for a whole batch. For a value of at most one AES
block (16 bytes: a BSN basis, a pseudonym's 128 bits) S2V reduces to one block cipher
call on the padded value under a constant mask, so a million values are one AES-ECB
call over one buffer. Longer values take the one-by-one path. The unit tests hold both
paths equal on values of every length.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

BLOCK = 16
KEY_BYTES = 64  # AES-256-SIV: a 256-bit S2V (CMAC) key and a 256-bit CTR key
_PAD_BYTE = 0x80  # RFC 5297 pad(X): X || 10*


class S2V:
    """The synthetic IV of AES-SIV under one key, for one value or a batch."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"an AES-256-SIV key has {KEY_BYTES} bytes")
        self._siv = AESSIV(key)
        self._block_cipher = Cipher(algorithms.AES(key[:KEY_BYTES // 2]), modes.ECB())
        # CMAC of one full block M is AES(M ^ K1); S2V's D is the CMAC of the zero block.
        k1 = _dbl(self._encrypt(bytes(BLOCK)))
        d = self._encrypt(k1)
        # S2V's last step for a value X: shorter than a block, CMAC(dbl(D) ^ pad(X));
        # exactly one block, CMAC(X ^ D). Each is AES(X' ^ mask).
        self._short_mask = np.frombuffer(_xor(_dbl(d), k1), np.uint8)
        self._block_mask = np.frombuffer(_xor(d, k1), np.uint8)

    def tag(self, value: bytes) -> bytes:
        """The 16-byte synthetic IV of `value`."""
        if not value:
            raise ValueError("nothing to pseudonymise: the value is empty")
        return self._siv.encrypt(value, None)[:BLOCK]

    def tags(self, values: Sequence[str] | pa.Array | pa.ChunkedArray) -> np.ndarray:
        """The tags of `values` (str, UTF-8 encoded) as an (n, 16) uint8 array, in order."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        array = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
        if array.null_count:
            raise ValueError("nothing to pseudonymise: a value is missing")
        array = array.cast(pa.large_binary())
        offsets = np.frombuffer(array.buffers()[1], np.int64)[array.offset:][:len(array) + 1]
        data = np.frombuffer(array.buffers()[2] or b"", np.uint8)
        lengths = np.diff(offsets)
        if len(array) and not lengths.min():
            raise ValueError("nothing to pseudonymise: a value is empty")
        blocks = _padded_blocks(data, offsets, lengths)
        blocks ^= np.where((lengths < BLOCK)[:, None], self._short_mask, self._block_mask)
        out = np.frombuffer(self._encrypt(blocks.tobytes()), np.uint8).reshape(-1, BLOCK)
        longer = np.flatnonzero(lengths > BLOCK)
        if len(longer):  # beyond one block: one by one
            out = out.copy()
            tags = b"".join(map(self.tag, array.take(pa.array(longer)).to_pylist()))
            out[longer] = np.frombuffer(tags, np.uint8).reshape(-1, BLOCK)
        return out

    def _encrypt(self, blocks: bytes) -> bytes:
        encryptor = self._block_cipher.encryptor()
        return encryptor.update(blocks) + encryptor.finalize()


def _padded_blocks(data: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """One 16-byte row per value: the value's bytes, then pad(X) when shorter.

    Values longer than a block leave a placeholder row (their tag is computed apart).
    """
    count = len(lengths)
    blocks = np.zeros((count, BLOCK), np.uint8)
    fits = lengths <= BLOCK
    width = int(lengths[0]) if count else 0
    if count and fits.all() and (lengths == width).all():  # the common case: one shape
        start = int(offsets[0])
        blocks[:, :width] = data[start:start + count * width].reshape(count, width)
    else:
        kept = np.where(fits, lengths, 0)
        rows = np.repeat(np.arange(count), kept)
        starts = np.repeat(offsets[:-1], kept)
        columns = np.arange(len(rows)) - np.repeat(np.cumsum(kept) - kept, kept)
        blocks[rows, columns] = data[starts + columns]
    short = np.flatnonzero(lengths < BLOCK)
    blocks[short, lengths[short]] = _PAD_BYTE
    return blocks


def _dbl(block: bytes) -> bytes:
    """Doubling in GF(2^128), as CMAC and S2V define it."""
    value = int.from_bytes(block, "big") << 1
    if value >> 128:
        value ^= 0x87
    return (value & ((1 << 128) - 1)).to_bytes(BLOCK, "big")


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))
