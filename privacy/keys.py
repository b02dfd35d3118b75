"""Key material: one master key per installation, purpose keys derived with HKDF.

The master key is generated on first use and kept in a 0600 file; nothing derived from
it is ever written, logged or put in query text. Derived keys are bound to a purpose
label and a version, so rotating the master key changes every derived key at once.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASTER_KEY_BYTES = 32
_MASTER_FILE = "master-v{version}.key"


class KeyMaterialError(Exception):
    """A key is missing, unreadable or of the wrong shape."""


@dataclass(frozen=True)
class KeyRing:
    """The installation's master key and its version; derives purpose keys."""

    master_key: bytes
    version: int

    def derive(self, label: str) -> bytes:
        """Return a 32-byte key for `label` (e.g. 'pseudonym:internal'), for this version."""
        info = f"ketenbrug:{label}:v{self.version}".encode()
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
            self.master_key
        )

    def __repr__(self) -> str:  # never let a key reach a log through repr()
        return f"KeyRing(version={self.version})"


def load_or_create_keyring(keys_dir: Path) -> KeyRing:
    """Return the newest master key under `keys_dir`, creating v1 there if none exists."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    existing = sorted(keys_dir.glob("master-v*.key"), key=_version_of)
    if not existing:
        return _create(keys_dir, version=1)
    return load_keyring(keys_dir, _version_of(existing[-1]))


def load_keyring(keys_dir: Path, version: int) -> KeyRing:
    """Return master key `version`; refuses a missing, widened or malformed key file."""
    path = keys_dir / _MASTER_FILE.format(version=version)
    if not path.exists():
        raise KeyMaterialError(f"master key version {version} not found under {keys_dir}")
    if path.stat().st_mode & 0o077:
        raise KeyMaterialError(f"{path} is readable by others; expected permissions 0600")
    key = path.read_bytes()
    if len(key) != MASTER_KEY_BYTES:
        raise KeyMaterialError(f"{path} does not hold a {MASTER_KEY_BYTES}-byte key")
    return KeyRing(master_key=key, version=version)


def _create(keys_dir: Path, version: int) -> KeyRing:
    path = keys_dir / _MASTER_FILE.format(version=version)
    key = secrets.token_bytes(MASTER_KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return KeyRing(master_key=key, version=version)


def _version_of(path: Path) -> int:
    return int(path.stem.removeprefix("master-v"))
