"""Sealed packages: signed by the hub (Ed25519), encrypted for one named recipient.

Encryption is ECIES-style: an ephemeral X25519 key agreement with the recipient's
public key, HKDF-SHA256 to an AES-256-GCM key, the clear header as associated data.
Inside is a zip of the data files, a manifest with the SHA-256 of each file, and the
hub's signature over the manifest. Only the recipient's private key opens it.

Format v2 binds a package to its recipient three times over, so that one recipient
cannot decrypt a package and pass it on re-encrypted as if the hub had sent it to
another: the recipient's code and the hub's key id are in the HKDF `info` and in the
clear header (the AEAD's associated data), and the signed manifest names the
recipient, the fingerprint of the recipient's public key, the hub's key id and the hub
key's fingerprint (privacy/hub_key.py: what a recipient compares out of band).
`open_package` refuses a package unless all of them name the one opening it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ketenbrug.privacy.file_modes import FileModeError, create_private, private_dir, require_private
from ketenbrug.privacy.hub_key import HUB_KEY_FILE, KEY_BYTES, hub_key_fingerprint
from ketenbrug.privacy.keys import KeyMaterialError

MAGIC = b"KBPKG2\n"
_V1_MAGIC = b"KBPKG1\n"
FORMAT_VERSION = 2
_ALG = "X25519-HKDF-SHA256-AES256GCM"
_RAW = serialization.Encoding.Raw
_RAW_PUB = serialization.PublicFormat.Raw
_RAW_PRIV = serialization.PrivateFormat.Raw
# Recipient codes go into the HKDF info between '|' separators: nothing that could
# make two different (recipient, hub) pairs give the same info.
_RECIPIENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_FILE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


class PackageError(Exception):
    """A package is altered, unsigned, re-addressed, replayed, or not meant for its opener."""


@dataclass(frozen=True)
class OpenedPackage:
    manifest: dict
    files: dict[str, bytes]
    sha256: str  # of the sealed package as received: the same package opened twice
    # The signed manifest as sealed and the hub's signature over it: what a recipient
    # keeps as a witness of the hub's disclosure log (privacy/log_witnesses.py).
    manifest_bytes: bytes = b""
    signature: bytes = b""


def hub_key_id(hub_key: Ed25519PublicKey) -> str:
    """The hub key's id: first 16 hex of SHA-256 over its raw public key."""
    return hashlib.sha256(hub_key.public_bytes(_RAW, _RAW_PUB)).hexdigest()[:16]


def recipient_key_sha256(recipient_key: X25519PublicKey) -> str:
    """Fingerprint of a recipient's public key: SHA-256 over its raw bytes."""
    return hashlib.sha256(recipient_key.public_bytes(_RAW, _RAW_PUB)).hexdigest()


def seal_package(
    files: dict[str, bytes], manifest: dict, *, recipient_id: str,
    recipient_key: X25519PublicKey, signing_key: Ed25519PrivateKey,
) -> bytes:
    """Return the sealed package bytes for `files`, bound to `recipient_id` and its key.

    The manifest gains per-file SHA-256, the recipient, the fingerprint of its key, the
    hub's key id and the hub key's fingerprint. Refuses a recipient code or file name
    outside [A-Za-z0-9_.-].
    """
    _require_recipient_id(recipient_id)
    for name in files:
        if not _FILE_NAME.fullmatch(name):
            raise PackageError(f"file name {name!r} is not a plain file name")
    kid = hub_key_id(signing_key.public_key())
    manifest = {**manifest, "format": FORMAT_VERSION, "recipient": recipient_id,
                "recipient_key_sha256": recipient_key_sha256(recipient_key), "hub_key_id": kid,
                "hub_key_fingerprint": hub_key_fingerprint(signing_key.public_key()),
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
    header = json.dumps({"format": FORMAT_VERSION, "recipient": recipient_id, "hub_key_id": kid,
                         "alg": _ALG, "epk": ephemeral_pub.hex()}, sort_keys=True).encode()
    key = _derive(ephemeral.exchange(recipient_key), ephemeral_pub, recipient_key,
                  recipient_id, kid)
    nonce = os.urandom(12)
    return MAGIC + header + b"\n" + nonce + AESGCM(key).encrypt(
        nonce, inner.getvalue(), MAGIC + header)


def open_package(
    blob: bytes, *, recipient_id: str, recipient_key: X25519PrivateKey,
    hub_key: Ed25519PublicKey,
) -> OpenedPackage:
    """Decrypt, verify the hub's signature and every checksum; return manifest and files.

    Refused (PackageError, saying which): a v1 package (from before recipient binding);
    one addressed to another recipient than `recipient_id`; one whose hub key id is not
    `hub_key`'s; one that fails decryption (altered, or another key); a bad signature;
    one signed for another recipient or another recipient key than the one opening it
    (re-addressed); a file whose checksum differs from the signed manifest.
    """
    if blob.startswith(_V1_MAGIC):
        raise PackageError("format v1 from before recipient binding; ask the hub to re-send")
    if not blob.startswith(MAGIC):
        raise PackageError("not a Ketenbrug package")
    header_bytes, _, body = blob[len(MAGIC):].partition(b"\n")
    try:
        header = json.loads(header_bytes)
        addressed_to, header_kid = str(header["recipient"]), str(header["hub_key_id"])
        epk = bytes.fromhex(header["epk"])
        ephemeral_pub = X25519PublicKey.from_public_bytes(epk)
    except (ValueError, KeyError, TypeError) as exc:
        raise PackageError("package header is damaged") from exc
    if addressed_to != recipient_id:
        raise PackageError(f"not for you: addressed to {addressed_to}, you are {recipient_id}")
    trusted_kid = hub_key_id(hub_key)
    if header_kid != trusted_kid:
        raise PackageError(f"from another hub key: the package names hub key {header_kid}, "
                           f"the hub key given is {trusted_kid}")
    key = _derive(recipient_key.exchange(ephemeral_pub), epk, recipient_key.public_key(),
                  recipient_id, trusted_kid)
    try:
        inner = AESGCM(key).decrypt(body[:12], body[12:], MAGIC + header_bytes)
    except InvalidTag:
        raise PackageError("package was altered or is not meant for this key") from None
    with zipfile.ZipFile(io.BytesIO(inner)) as archive:
        manifest_bytes = archive.read("manifest.json")
        try:
            signature = archive.read("manifest.sig")
            hub_key.verify(signature, manifest_bytes)
        except InvalidSignature:
            raise PackageError("manifest signature does not verify against the hub key") from None
        manifest = json.loads(manifest_bytes)
        _require_bound_to(manifest, recipient_id, recipient_key.public_key(), trusted_kid)
        signed_fingerprint = manifest.get("hub_key_fingerprint")
        if signed_fingerprint not in (None, hub_key_fingerprint(hub_key)):  # None: older ones
            raise PackageError(f"signed manifest names hub key fingerprint {signed_fingerprint}, "
                               "not that of the hub key given")
        files = {name: archive.read(f"data/{name}") for name in manifest["files"]}
    for name, digest in manifest["files"].items():
        if hashlib.sha256(files[name]).hexdigest() != digest:
            raise PackageError(f"checksum of {name} does not match the signed manifest")
    return OpenedPackage(manifest=manifest, files=files, sha256=hashlib.sha256(blob).hexdigest(),
                         manifest_bytes=manifest_bytes, signature=signature)


def _require_bound_to(manifest: dict, recipient_id: str, recipient_pub: X25519PublicKey,
                      kid: str) -> None:
    """The signed manifest must name this recipient, its key and the hub key: the only
    parts a re-encrypting recipient cannot change."""
    signed_for = manifest.get("recipient")
    if signed_for != recipient_id:
        raise PackageError(f"re-addressed: signed for {signed_for}, encrypted for {recipient_id}")
    if manifest.get("recipient_key_sha256") != recipient_key_sha256(recipient_pub):
        raise PackageError(f"re-addressed: signed for another key of {recipient_id} than the "
                           "one that opened it")
    if manifest.get("hub_key_id") != kid:
        raise PackageError(f"signed manifest names hub key {manifest.get('hub_key_id')}, "
                           f"not {kid}")
    for name in manifest.get("files", {}):
        if not _FILE_NAME.fullmatch(name):
            raise PackageError(f"signed manifest names a file outside the package folder: {name!r}")


def _require_recipient_id(recipient_id: str) -> None:
    if not _RECIPIENT_ID.fullmatch(recipient_id):
        raise PackageError(f"recipient code {recipient_id!r} is not of the form [A-Za-z0-9_.-]")


def _derive(shared: bytes, ephemeral_pub: bytes, recipient_pub: X25519PublicKey,
            recipient_id: str, kid: str) -> bytes:
    _require_recipient_id(recipient_id)
    salt = ephemeral_pub + recipient_pub.public_bytes(_RAW, _RAW_PUB)
    info = f"ketenbrug:package:v{FORMAT_VERSION}|recipient={recipient_id}|hub={kid}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(shared)


# Key files: raw 32-byte keys; private ones 0600 in 0700 folders, and refused when group
# or others can read them (the key may have been copied already). In the demo the hub
# also generates each recipient's pair, standing in for the key a municipality holds.

def load_or_create_signing_key(keys_dir: Path) -> Ed25519PrivateKey:
    """Return the hub's Ed25519 signing key, creating it on first use, with its public
    half in `hub-signing.pub` (written again when missing: recipients are given it);
    refuses a key file group or others can read (KeyMaterialError)."""
    key = _load_or_create(keys_dir / "hub-signing", Ed25519PrivateKey)
    public = keys_dir / HUB_KEY_FILE
    if not public.exists():
        public.write_bytes(key.public_key().public_bytes(_RAW, _RAW_PUB))
    return key


def load_or_create_recipient_key(keys_dir: Path, recipient_id: str) -> X25519PrivateKey:
    """Return the X25519 key pair of `recipient_id` (demo stand-in), creating it on first
    use; refuses a key file group or others can read (KeyMaterialError)."""
    _require_recipient_id(recipient_id)
    return _load_or_create(keys_dir / "recipients" / recipient_id, X25519PrivateKey)


def load_private_key(path: Path, kind=X25519PrivateKey):
    """Read a raw private key file written by this module; refuses one that group or
    others can read (KeyMaterialError, naming the file and `chmod 600`)."""
    try:
        require_private(path, what="private key")
    except FileModeError as exc:
        raise KeyMaterialError(str(exc)) from None
    data = path.read_bytes()
    try:
        return kind.from_private_bytes(data)
    except ValueError:
        raise KeyMaterialError(f"{path} is {len(data)} bytes, not a private key: expected the "
                               f"raw {KEY_BYTES}-byte key") from None


def _load_or_create(stem: Path, kind):
    private_path = stem.with_suffix(".key")
    if private_path.exists():
        return load_private_key(private_path, kind)
    private_dir(stem.parent, tighten_existing=True)
    key = kind.generate()
    try:
        create_private(private_path,
                       key.private_bytes(_RAW, _RAW_PRIV, serialization.NoEncryption()))
    except FileExistsError:  # a parallel step created it a moment ago: that one stands
        return load_private_key(private_path, kind)
    stem.with_suffix(".pub").write_bytes(key.public_key().public_bytes(_RAW, _RAW_PUB))
    return key
