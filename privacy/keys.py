"""Key material: versioned master keys per installation, purpose keys derived with HKDF.

Master keys are generated at run time (never committed) and kept in 0600 files named
`master-v<N>.key`; the highest version is current. Nothing derived from them is ever
written, logged or put in query text. Derived keys are bound to a label and a version,
so a rotation changes every derived key at once while older versions stay readable.

Each version has a key check value (KCV, `KeyRing.check_value`): an HMAC of a fixed
label under a key derived from the master key, which reveals nothing of the key but
changes with it. It is recorded beside the key (`master-v<N>.kcv`) when the key is
created, and by the identity vault on its first use of the version; a key file that no
longer matches either is refused as replaced (KeyMismatch). An install from before
check values gets its `.kcv` written on the first load (trust on first use): a key
swapped before that load is caught only by the vault's record.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ketenbrug.privacy.file_modes import (
    FileModeError,
    create_private,
    exclusive_lock,
    private_dir,
    require_private,
    write_private,
)

MASTER_KEY_BYTES = 32
_MASTER_FILE = "master-v{version}.key"
_CHECK_FILE = "master-v{version}.kcv"
_LOCK_FILE = ".create.lock"  # held while a version is created
_CHECK_LABEL = b"ketenbrug key check value"


class KeyMaterialError(Exception):
    """A key is missing, unreadable, too widely readable or of the wrong shape."""


class KeyMismatch(KeyMaterialError):
    """A key file no longer matches the check value recorded for its version: replaced."""


def key_mismatch(version: int, keys_dir: Path, recorded_by: str) -> KeyMismatch:
    """The refusal for master key `version` whose check value differs from `recorded_by`'s."""
    return KeyMismatch(
        f"master key v{version} under {keys_dir} does not match the key {recorded_by} "
        "(check value differs): the key file was replaced")


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

    def check_value(self) -> str:
        """This version's key check value (16 hex): shows which key it is, not the key."""
        return hmac.new(self.derive("key-check"), _CHECK_LABEL, hashlib.sha256).hexdigest()[:16]

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
        """Return the current key, creating version 1 when the store is empty.

        A first run's parallel steps all find the store empty: one creates the key, under
        the store's lock, and the others wait for it and load that same key.
        """
        private_dir(self.keys_dir, tighten_existing=True)
        versions = self.versions()
        if versions:
            return self.load(versions[-1])
        with exclusive_lock(self.keys_dir / _LOCK_FILE):
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
        """Return master key `version`.

        Refuses a missing, widened or malformed key file, and one whose check value
        differs from `master-v<N>.kcv` (KeyMismatch). Writes the `.kcv` of a key that has
        none yet (trust on first use).
        """
        path = self.keys_dir / _MASTER_FILE.format(version=version)
        if not path.exists():
            raise KeyMaterialError(f"master key version {version} not found under {self.keys_dir}")
        try:
            require_private(path, what="master key")
        except FileModeError as exc:
            raise KeyMaterialError(str(exc)) from None
        key = path.read_bytes()
        if len(key) != MASTER_KEY_BYTES:
            raise KeyMaterialError(f"{path} does not hold a {MASTER_KEY_BYTES}-byte key")
        keyring = KeyRing(master_key=key, version=version)
        check_path = self.keys_dir / _CHECK_FILE.format(version=version)
        if not check_path.exists():
            write_private(check_path, (keyring.check_value() + "\n").encode())
        elif not hmac.compare_digest(check_path.read_text().strip(), keyring.check_value()):
            raise key_mismatch(version, self.keys_dir, f"recorded in {check_path.name}")
        return keyring

    def rotate(self) -> KeyRing:
        """Create the next version and return it; older versions stay for reading history."""
        with exclusive_lock(self.keys_dir / _LOCK_FILE):
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
        private_dir(self.keys_dir, tighten_existing=True)
        keyring = KeyRing(master_key=secrets.token_bytes(MASTER_KEY_BYTES), version=version)
        # The check value first: a crash between the two leaves a .kcv without a key,
        # which a retry overwrites, never a key without its check value.
        write_private(self.keys_dir / _CHECK_FILE.format(version=version),
                      (keyring.check_value() + "\n").encode())
        create_private(self.keys_dir / _MASTER_FILE.format(version=version), keyring.master_key)
        return keyring


def load_or_create_keyring(keys_dir: Path) -> KeyRing:
    """Return the current master key under `keys_dir`, creating version 1 if none exists."""
    return KeyStore(keys_dir).init()


def load_keyring(keys_dir: Path, version: int) -> KeyRing:
    """Return master key `version` under `keys_dir`."""
    return KeyStore(keys_dir).load(version)


def _version_of(path: Path) -> int:
    return int(path.stem.removeprefix("master-v"))
