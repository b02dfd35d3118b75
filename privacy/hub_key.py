"""The hub's public signing key as a recipient gets it: a file, and a fingerprint to compare.

The hub publishes its Ed25519 public key (raw 32 bytes, `hub-signing.pub`) in each
recipient's outbox folder and names its fingerprint in every manifest it signs. A copy
that travels with the packages proves nothing by itself (whoever could swap a package
could swap the key beside it): the recipient compares the fingerprint printed on opening
with one obtained from the hub out of band (by phone, on paper, in the agreement).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ketenbrug.privacy.keys import KeyMaterialError

HUB_KEY_FILE = "hub-signing.pub"
KEY_BYTES = 32
_RAW, _RAW_PUB = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def hub_key_fingerprint(hub_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key in hex, in groups of four for reading aloud."""
    digest = hashlib.sha256(hub_key.public_bytes(_RAW, _RAW_PUB)).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))


def load_hub_key(path: Path) -> Ed25519PublicKey:
    """Read a hub public key file; refuses (KeyMaterialError, naming the file and the
    expected size) one that cannot be read or is not a raw 32-byte Ed25519 key."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyMaterialError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(data) != KEY_BYTES:
        raise KeyMaterialError(f"{path} is {len(data)} bytes, not a hub public key: expected "
                               f"the raw {KEY_BYTES}-byte Ed25519 key ({HUB_KEY_FILE})")
    try:
        return Ed25519PublicKey.from_public_bytes(data)
    except ValueError:
        raise KeyMaterialError(f"{path} is not a valid {KEY_BYTES}-byte Ed25519 public "
                               "key") from None


def publish_hub_key(folder: Path, hub_key: Ed25519PublicKey) -> Path:
    """Write `hub_key` as `folder/hub-signing.pub` (public, 0644) unless it already holds it."""
    path = folder / HUB_KEY_FILE
    data = hub_key.public_bytes(_RAW, _RAW_PUB)
    if not path.exists() or path.read_bytes() != data:
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.chmod(0o644)
        partial.replace(path)  # a reader sees the old key or the new one, never half
    return path
