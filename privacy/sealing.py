"""Sealed packages: signed by the hub (Ed25519), encrypted for one recipient.

Encryption is ECIES-style: an ephemeral X25519 key agreement with the recipient's
public key, HKDF-SHA256 to an AES-256-GCM key, the clear header as associated data.
Inside is a zip of the data files, a manifest with the SHA-256 of each file, and the
hub's signature over the manifest. Only the recipient's private key opens it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"KBPKG1\n"
_RAW = serialization.Encoding.Raw
_RAW_PUB = serialization.PublicFormat.Raw
_RAW_PRIV = serialization.PrivateFormat.Raw


class PackageError(Exception):
    """A package is altered, unsigned, or not meant for the key that tries to open it."""


@dataclass(frozen=True)
class OpenedPackage:
    manifest: dict
    files: dict[str, bytes]


def seal_package(
    files: dict[str, bytes], manifest: dict, *, recipient_id: str,
    recipient_key: X25519PublicKey, signing_key: Ed25519PrivateKey,
) -> bytes:
    """Return the sealed package bytes for `files`; the manifest gains per-file SHA-256."""
    manifest = {**manifest, "recipient": recipient_id,
                "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}}
    manifest_bytes = json.dumps(manifest, sort_keys=True, indent=2).encode()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(f"data/{name}", data)
        archive.writestr("manifest.json", manifest_bytes)
        archive.writestr("manifest.sig", signing_key.sign(manifest_bytes))
    ephemeral = X25519PrivateKey.generate()
    ephemeral_pub = ephemeral.public_key().public_bytes(_RAW, _RAW_PUB)
    header = json.dumps({"recipient": recipient_id, "alg": "X25519-HKDF-SHA256-AES256GCM",
                         "epk": ephemeral_pub.hex()}, sort_keys=True).encode()
    key = _derive(ephemeral.exchange(recipient_key), ephemeral_pub, recipient_key)
    nonce = os.urandom(12)
    return MAGIC + header + b"\n" + nonce + AESGCM(key).encrypt(nonce, inner.getvalue(), header)


def open_package(
    blob: bytes, *, recipient_key: X25519PrivateKey, hub_key: Ed25519PublicKey,
) -> OpenedPackage:
    """Decrypt, verify the hub's signature and every checksum; return manifest and files."""
    if not blob.startswith(MAGIC):
        raise PackageError("not a Ketenbrug package")
    header, _, body = blob[len(MAGIC):].partition(b"\n")
    try:
        epk = bytes.fromhex(json.loads(header)["epk"])
        ephemeral_pub = X25519PublicKey.from_public_bytes(epk)
    except (ValueError, KeyError) as exc:
        raise PackageError("package header is damaged") from exc
    key = _derive(recipient_key.exchange(ephemeral_pub), epk, recipient_key.public_key())
    try:
        inner = AESGCM(key).decrypt(body[:12], body[12:], header)
    except InvalidTag:
        raise PackageError("package was altered or is not meant for this key") from None
    with zipfile.ZipFile(io.BytesIO(inner)) as archive:
        manifest_bytes = archive.read("manifest.json")
        try:
            hub_key.verify(archive.read("manifest.sig"), manifest_bytes)
        except InvalidSignature:
            raise PackageError("manifest signature does not verify against the hub key") from None
        manifest = json.loads(manifest_bytes)
        files = {name: archive.read(f"data/{name}") for name in manifest["files"]}
    for name, digest in manifest["files"].items():
        if hashlib.sha256(files[name]).hexdigest() != digest:
            raise PackageError(f"checksum of {name} does not match the signed manifest")
    return OpenedPackage(manifest=manifest, files=files)


def _derive(shared: bytes, ephemeral_pub: bytes, recipient_pub: X25519PublicKey) -> bytes:
    salt = ephemeral_pub + recipient_pub.public_bytes(_RAW, _RAW_PUB)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=b"ketenbrug:package:v1").derive(shared)


# Key files: raw 32-byte keys; private ones 0600. In the demo the hub also generates
# each recipient's pair, standing in for the key a municipality would hold itself.

def load_or_create_signing_key(keys_dir: Path) -> Ed25519PrivateKey:
    """Return the hub's Ed25519 signing key, creating it on first use."""
    return _load_or_create(keys_dir / "hub-signing", Ed25519PrivateKey)


def load_or_create_recipient_key(keys_dir: Path, recipient_id: str) -> X25519PrivateKey:
    """Return the X25519 key pair of `recipient_id` (demo stand-in), creating it on first use."""
    return _load_or_create(keys_dir / "recipients" / recipient_id, X25519PrivateKey)


def load_private_key(path: Path, kind=X25519PrivateKey):
    """Read a raw private key file written by this module."""
    return kind.from_private_bytes(path.read_bytes())


def _load_or_create(stem: Path, kind):
    private_path = stem.with_suffix(".key")
    if private_path.exists():
        return kind.from_private_bytes(private_path.read_bytes())
    stem.parent.mkdir(parents=True, exist_ok=True)
    key = kind.generate()
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(_RAW, _RAW_PRIV, serialization.NoEncryption()))
    stem.with_suffix(".pub").write_bytes(key.public_key().public_bytes(_RAW, _RAW_PUB))
    return key
