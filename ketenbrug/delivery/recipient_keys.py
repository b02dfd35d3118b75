"""Which public key a municipality's packages are sealed to.

A municipality registers its own X25519 public key (raw, as base64 or hex, or the PEM
that `openssl pkey -pubout` prints); from then on its packages are sealed to that key,
whose private half never comes near the hub. Until it does, the demo's stand-in pair
under keys/recipients/ is used (sealing.load_or_create_recipient_key).

The registered key is `keys/recipients/<code>.registered.pub`; every registration is
a line in `<code>.registered.jsonl` beside it (fingerprint, by whom, when, the one it
replaced), so an old package can still be matched to the key it was sealed to.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ketenbrug.privacy.sealing import load_or_create_recipient_key

_HEX = re.compile(r"[0-9a-fA-F]{64}")


class KeyRefused(ValueError):
    """A key that cannot be registered; the message says why (never echoes the input)."""


@dataclass(frozen=True)
class Registration:
    fingerprint: str
    registered_by: str
    registered_at: str
    replaced: str | None  # the fingerprint of the key it replaced


def fingerprint(key: X25519PublicKey) -> str:
    """The first 16 bytes of the key's SHA-256, in groups of four hex digits: what two
    people read to each other over the phone to check they mean the same key."""
    digest = hashlib.sha256(key.public_bytes_raw()).hexdigest()[:32]
    return " ".join(digest[i:i + 4] for i in range(0, 32, 4))


def parse_public_key(text: str) -> X25519PublicKey:
    """An X25519 public key from base64, hex or PEM text (KeyRefused otherwise)."""
    text = text.strip()
    if not text:
        raise KeyRefused("no key given")
    if text.startswith("-----BEGIN"):
        try:
            key = load_pem_public_key(text.encode())
        except ValueError:
            raise KeyRefused("the PEM text is not a public key") from None
        if not isinstance(key, X25519PublicKey):
            raise KeyRefused(f"the PEM key is a {type(key).__name__.removesuffix('PublicKey')} "
                             "key; packages are sealed to X25519 keys")
        return _usable(key)
    raw = _raw_bytes("".join(text.split()))
    return _usable(X25519PublicKey.from_public_bytes(raw))


def _raw_bytes(text: str) -> bytes:
    if _HEX.fullmatch(text):
        return bytes.fromhex(text)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyRefused("the key is neither base64, hex (64 digits) nor PEM") from None
    if len(raw) != 32:
        raise KeyRefused(f"the key is {len(raw)} bytes; an X25519 public key is 32")
    return raw


def _usable(key: X25519PublicKey) -> X25519PublicKey:
    # A low-order point (all zeros, for one) gives every sender the same shared secret:
    # anything sealed to it could be opened by anyone.
    try:
        X25519PrivateKey.generate().exchange(key)
    except ValueError:
        raise KeyRefused("the key is a degenerate (low-order) point; generate a new "
                         "key pair") from None
    return key


def registered_key(keys_dir: Path, code: str) -> X25519PublicKey | None:
    path = _file(keys_dir, code, "pub")
    return X25519PublicKey.from_public_bytes(path.read_bytes()) if path.exists() else None


def recipient_public_key(keys_dir: Path, code: str) -> X25519PublicKey:
    """The key `code`'s packages are sealed to: its registered one, else the stand-in."""
    return registered_key(keys_dir, code) or load_or_create_recipient_key(
        keys_dir, code).public_key()


def registrations(keys_dir: Path, code: str) -> list[Registration]:
    """Every registration of `code`, newest first."""
    path = _file(keys_dir, code, "jsonl")
    if not path.exists():
        return []
    return [Registration(**json.loads(line)) for line in reversed(
        path.read_text(encoding="utf-8").splitlines()) if line.strip()]


def register_key(keys_dir: Path, code: str, key: X25519PublicKey, by: str) -> Registration:
    """Make `key` the one `code`'s packages are sealed to, recording who did it."""
    with _locked(_file(keys_dir, code, "lock")):
        current = registered_key(keys_dir, code)
        if current is not None and current.public_bytes_raw() == key.public_bytes_raw():
            raise KeyRefused("this key is already the registered one")
        done = Registration(fingerprint(key), by,
                            datetime.now(UTC).isoformat(timespec="seconds"),
                            fingerprint(current) if current else None)
        partial = _file(keys_dir, code, "pub.partial")
        partial.write_bytes(key.public_bytes_raw())
        partial.chmod(0o644)
        partial.replace(_file(keys_dir, code, "pub"))  # a run seals to the old key or the new
        with _file(keys_dir, code, "jsonl").open("a", encoding="utf-8") as history:
            history.write(json.dumps(done.__dict__, sort_keys=True) + "\n")
        return done


def _file(keys_dir: Path, code: str, extension: str) -> Path:
    if not re.fullmatch(r"GM\d{4}", code):
        raise ValueError(f"a municipality is its CBS code (GM0363), not {code!r}")
    return keys_dir / "recipients" / f"{code}.registered.{extension}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two registrations at once: one after the other
        yield
