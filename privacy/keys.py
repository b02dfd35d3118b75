"""Key material: versioned master keys per installation, purpose keys derived with HKDF.

Master keys are generated at run time (never committed) and kept in 0600 files named
`master-v<N>.key`; the highest version is current. Nothing derived from them is ever
written, logged or put in query text. Derived keys are bound to a label and a version,
so a rotation changes every derived key at once while older versions stay readable.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASTER_KEY_BYTES = 32
_MASTER_FILE = "master-v{version}.key"


class KeyMaterialError(Exception):
    """A key is missing, unreadable, too widely readable or of the wrong shape."""


@dataclass(frozen=True)
class KeyRing:
    """One version of the installation's master key; derives purpose keys."""

    master_key: bytes
    version: int

    def derive(self, label: str, length: int = 32) -> bytes:
        """Return a key of `length` bytes for `label` (e.g. 'pseudonym:internal'), for
        this version."""
        info = f"ketenbrug:{label}:v{self.version}".encode()
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(
            self.master_key
        )

    def __repr__(self) -> str:  # never let a key reach a log through repr()
        return f"KeyRing(version={self.version})"


@dataclass(frozen=True)
class KeyVersionInfo:
    version: int
    created_at: str
    is_current: bool


class KeyStore:
    """All master-key versions under one folder: the current one writes, all of them read."""

    def __init__(self, keys_dir: Path):
        self.keys_dir = keys_dir

    def versions(self) -> list[int]:
        """Versions present, oldest first."""
        if not self.keys_dir.exists():
            return []
        return sorted(_version_of(p) for p in self.keys_dir.glob("master-v*.key"))

    def init(self) -> KeyRing:
        """Return the current key, creating version 1 when the store is empty."""
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.keys_dir, 0o700)
        versions = self.versions()
        return self.load(versions[-1]) if versions else self._create(1)

    def current(self) -> KeyRing:
        """The newest key; refuses an empty store (run `ketenbrug keys init`)."""
        versions = self.versions()
        if not versions:
            raise KeyMaterialError(
                f"no master key under {self.keys_dir}: run `ketenbrug keys init`")
        return self.load(versions[-1])

    def load(self, version: int) -> KeyRing:
        """Return master key `version`; refuses a missing, widened or malformed key file."""
        path = self.keys_dir / _MASTER_FILE.format(version=version)
        if not path.exists():
            raise KeyMaterialError(f"master key version {version} not found under {self.keys_dir}")
        if path.stat().st_mode & 0o077:
            raise KeyMaterialError(f"{path} is readable by others; expected permissions 0600")
        key = path.read_bytes()
        if len(key) != MASTER_KEY_BYTES:
            raise KeyMaterialError(f"{path} does not hold a {MASTER_KEY_BYTES}-byte key")
        return KeyRing(master_key=key, version=version)

    def rotate(self) -> KeyRing:
        """Create the next version and return it; older versions stay for reading history."""
        versions = self.versions()
        if not versions:
            raise KeyMaterialError(f"no master key under {self.keys_dir} to rotate")
        return self._create(versions[-1] + 1)

    def status(self) -> list[KeyVersionInfo]:
        """Every version with its creation time (file mtime, UTC); never the key itself."""
        versions = self.versions()
        return [KeyVersionInfo(
            version=v,
            created_at=datetime.fromtimestamp(
                (self.keys_dir / _MASTER_FILE.format(version=v)).stat().st_mtime, UTC
            ).isoformat(timespec="seconds"),
            is_current=v == versions[-1],
        ) for v in versions]

    def _create(self, version: int) -> KeyRing:
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        path = self.keys_dir / _MASTER_FILE.format(version=version)
        key = secrets.token_bytes(MASTER_KEY_BYTES)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return KeyRing(master_key=key, version=version)


def load_or_create_keyring(keys_dir: Path) -> KeyRing:
    """Return the current master key under `keys_dir`, creating version 1 if none exists."""
    return KeyStore(keys_dir).init()


def load_keyring(keys_dir: Path, version: int) -> KeyRing:
    """Return master key `version` under `keys_dir`."""
    return KeyStore(keys_dir).load(version)


def _version_of(path: Path) -> int:
    return int(path.stem.removeprefix("master-v"))
