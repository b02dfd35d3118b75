"""A billing statement's manifest, signed by the hub, and its check on the recipient's side.

The folder outbox/<CBS code>/billing/<YYYY-MM>/ holds the statement files, `manifest.json`
(each file's SHA-256 and row count, the hub key's fingerprint) and `manifest.sig`: the
hub's Ed25519 signature over manifest.json's bytes, with the key packages are signed with.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ketenbrug.privacy.hub_key import hub_key_fingerprint
from ketenbrug.privacy.log_witnesses import MANIFEST_NAME, SIGNATURE_NAME


class StatementError(Exception):
    """A billing statement folder that is incomplete, altered or not signed by the hub."""


def sign_manifest(folder: Path, manifest_bytes: bytes, signing_key: Ed25519PrivateKey) -> None:
    """Write `manifest.sig` into `folder`: the hub's signature over `manifest_bytes`."""
    (folder / SIGNATURE_NAME).write_bytes(signing_key.sign(manifest_bytes))


def verify_statement(folder: Path, hub_key: Ed25519PublicKey) -> dict:
    """Return the manifest of the statement in `folder` once its signature verifies against
    `hub_key` and every file it lists is there with its checksum.

    Refuses (StatementError, saying which): no manifest or signature, a signature by
    another key, a manifest naming another hub key, a missing or altered file.
    """
    manifest_path, signature_path = folder / MANIFEST_NAME, folder / SIGNATURE_NAME
    for path in (manifest_path, signature_path):
        if not path.is_file():
            raise StatementError(f"{path} is missing: not a signed billing statement folder")
    manifest_bytes = manifest_path.read_bytes()
    try:
        hub_key.verify(signature_path.read_bytes(), manifest_bytes)
    except InvalidSignature:
        raise StatementError("manifest signature does not verify against the hub key") from None
    manifest = json.loads(manifest_bytes)
    named = manifest.get("hub_key_fingerprint")
    if named != hub_key_fingerprint(hub_key):
        raise StatementError(f"signed manifest names hub key fingerprint {named}, not that of "
                             "the hub key given")
    for entry in manifest.get("files", []):
        path = folder / Path(entry["file"]).name
        if not path.is_file():
            raise StatementError(f"{path.name} is missing from {folder}")
        if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            raise StatementError(f"checksum of {path.name} does not match the signed manifest")
    return manifest
