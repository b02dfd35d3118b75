"""Recipients' witnesses of the disclosure log: what they hold, the log must still hold.

Every delivery manifest carries the log's head when it was made (`log_head`: seq and
hash). A recipient who hands back what it received lets `audit verify` check, even for
entries after the last checkpoint, that the log still holds that head and the delivery
entry itself:
- a package file (.kbpkg): its SHA-256 must be a delivery entry's `package_sha256`;
- a handover manifest.json with manifest.sig beside it (kept by `extract open`): signed
  by the hub, its head in the log, and the delivery to that recipient in that run after it;
- a billing manifest.json: its SHA-256 must be a delivery entry's `manifest_sha256`
  (the log vouches for it), its head in the log.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ketenbrug.privacy.checkpoints import Problem
from ketenbrug.privacy.disclosure_log import LogContents
from ketenbrug.privacy.file_modes import write_private
from ketenbrug.privacy.sealing import MAGIC

MANIFEST_NAME, SIGNATURE_NAME = "manifest.json", "manifest.sig"


def keep_witness(folder: Path, manifest_bytes: bytes, signature: bytes) -> list[Path]:
    """Write a package's signed manifest and the hub's signature (0600) into `folder`, so
    the recipient can hand them over as a witness of the hub's disclosure log."""
    return [write_private(folder / MANIFEST_NAME, manifest_bytes),
            write_private(folder / SIGNATURE_NAME, signature)]


def check_witness(path: Path, contents: LogContents,
                  hub_key: Ed25519PublicKey | None) -> list[Problem]:
    """Problems a recipient's witness (package or manifest) shows in the log."""
    where = f"witness {path}"
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [Problem(where, f"cannot be read ({exc.strerror})")]
    deliveries = [e for e in contents.entries if e.get("event") == "delivery"]
    digest = hashlib.sha256(data).hexdigest()
    if data.startswith(MAGIC) or path.suffix == ".kbpkg":
        if any(e.get("package_sha256") == digest for e in deliveries):
            return []
        return [Problem(where, "no delivery entry holds this package's SHA-256: its delivery "
                               "entry was removed from the log (or the hub never sent it)")]
    try:
        manifest = json.loads(data)
        assert isinstance(manifest, dict)
    except (ValueError, AssertionError):
        return [Problem(where, "neither a package nor a manifest (not a JSON object)")]
    if isinstance(manifest.get("files"), list):  # a billing manifest: the log vouches
        problems = _head_problems(where, manifest, contents)
        if not any(e.get("manifest_sha256") == digest for e in deliveries):
            problems.append(Problem(where, "no delivery entry holds this manifest's SHA-256: "
                                           "its delivery entry was removed from the log"))
        return problems
    signature = path.with_name(SIGNATURE_NAME)
    if not signature.exists():
        return [Problem(where, f"no {SIGNATURE_NAME} beside it: an unsigned manifest is no "
                               "witness")]
    if hub_key is None:
        return [Problem(where, "hub public key not found: its signature cannot be checked")]
    try:
        hub_key.verify(signature.read_bytes(), data)
    except InvalidSignature:
        return [Problem(where, "signature does not verify against the hub key: not a "
                               "manifest the hub signed")]
    problems = _head_problems(where, manifest, contents)
    if not problems and not _delivery_after_head(manifest, deliveries):
        problems.append(Problem(where, f"no delivery to {manifest.get('recipient')} in run "
                                       f"{manifest.get('run_id')} after seq "
                                       f"{manifest['log_head']['seq']}: its delivery entry was "
                                       "removed from the log"))
    return problems


def _head_problems(where: str, manifest: dict, contents: LogContents) -> list[Problem]:
    head = manifest.get("log_head")
    if not isinstance(head, dict) or not isinstance(head.get("seq"), int):
        return [Problem(where, "carries no log head (made before manifests witnessed the log)")]
    if head["seq"] == 0:
        return []
    held = next((e for e in contents.entries if e["seq"] == head["seq"]), None)
    if held is None:
        return [Problem(where, f"names log head seq {head['seq']}, which the log no longer "
                               "holds: entries were cut or removed after this delivery")]
    if held["hash"] != head.get("hash"):
        return [Problem(where, f"names log head seq {head['seq']} with another hash than the "
                               "log's: the log was rewritten up to there")]
    return []


def _delivery_after_head(manifest: dict, deliveries: list[dict]) -> bool:
    recipient = f"municipality:{manifest.get('recipient')}"
    return any(e.get("recipient") == recipient and e.get("purpose") == manifest.get("purpose")
               and e.get("run_id") == manifest.get("run_id")
               and e["seq"] > manifest["log_head"]["seq"] for e in deliveries)
