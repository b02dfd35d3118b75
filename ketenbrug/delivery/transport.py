"""How a sealed package reaches its recipient: the outbox folder, or an HTTP POST.

A POST carries an Idempotency-Key derived from what the package holds (recipient,
purpose, date and data checksum), not from its ciphertext, which differs per seal: a
retried or repeated delivery of the same content is received once.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)


class DeliveryError(Exception):
    """The recipient's endpoint did not take the package after retries."""


@dataclass(frozen=True)
class Delivered:
    where: str  # a file path or the endpoint's URL
    duplicate: bool  # the endpoint already had this content (idempotent replay)


def idempotency_key(recipient: str, purpose: str, as_of: str, data_sha256: str) -> str:
    """A stable key for one delivery's content."""
    return hashlib.sha256(f"{recipient}|{purpose}|{as_of}|{data_sha256}".encode()).hexdigest()


PARTIAL = ".partial"
PACKAGE_SUFFIX = ".kbpkg"


def to_outbox(outbox: Path, recipient: str, name: str, blob: bytes) -> Delivered:
    """Write the package to `outbox/<recipient>/<name>` (replacing an earlier one of that name)."""
    return publish_staged(stage_in_outbox(outbox, recipient, name, blob))


def stage_in_outbox(outbox: Path, recipient: str, name: str, blob: bytes) -> Path:
    """Write the package beside its place, as `<name>.partial`, durably; return that path.

    Not yet delivered: the recipient's folder shows it only after `publish_staged`, which
    the caller does once the delivery is in the disclosure log.
    """
    target = outbox / recipient / name
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + PARTIAL)
    with partial.open("wb") as handle:
        handle.write(blob)
        handle.flush()
        os.fsync(handle.fileno())
    return partial


def publish_staged(partial: Path) -> Delivered:
    """Move a staged package into place in one step: a reader never sees half a package."""
    target = partial.with_name(partial.name.removesuffix(PARTIAL))
    partial.replace(target)
    return Delivered(str(target), duplicate=False)


def package_sha256(blob: bytes) -> str:
    """The checksum a delivery entry records of the sealed package it delivered."""
    return hashlib.sha256(blob).hexdigest()


def recover_outbox(outbox: Path, logged: set[tuple[str, str]]) -> tuple[int, int]:
    """Finish or undo deliveries a killed run left half-done; return (completed, discarded).

    A staged package whose (package path, checksum) the disclosure log already records as
    delivered is moved into place; one the log does not record was never delivered and
    is removed (the run delivers it afresh). Either way each delivery happens once.

    Only sealed packages (`*.kbpkg.partial` files): the billing delivery stages folders
    of its own (`billing/<month>.partial`), and on the multiprocess executor it may be
    writing one at this very moment.
    """
    completed = discarded = 0
    staged = sorted(outbox.glob(f"*/*{PACKAGE_SUFFIX}{PARTIAL}")) if outbox.exists() else []
    for partial in (p for p in staged if p.is_file()):
        target = partial.with_name(partial.name.removesuffix(PARTIAL))
        if (str(target), package_sha256(partial.read_bytes())) in logged:
            publish_staged(partial)
            completed += 1
        else:
            partial.unlink()
            discarded += 1
    return completed, discarded


def to_endpoint(url_template: str, recipient: str, name: str, blob: bytes, key: str,
                retries: int = 5, backoff_s: float = 0.5, timeout_s: float = 30.0) -> Delivered:
    """POST the package to the recipient's endpoint; retries 429/5xx and time-outs.

    `url_template` holds `{recipient}`. Refuses (DeliveryError) after the retries, or on
    an answer that is neither 200 (already had it) nor 201 (created).
    """
    url = url_template.format(recipient=recipient)
    session = requests.Session()
    # POST is safe to retry here: the idempotency key makes a repeat a no-op.
    retry = Retry(total=retries, backoff_factor=backoff_s, status_forcelist=RETRY_STATUSES,
                  allowed_methods=frozenset({"POST"}), respect_retry_after_header=True,
                  raise_on_status=False)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    try:
        answer = session.post(url, data=blob, timeout=(3.0, timeout_s), headers={
            "Content-Type": "application/vnd.ketenbrug.package", "Idempotency-Key": key,
            "X-Package-Name": name})
    except requests.RequestException as exc:
        raise DeliveryError(f"delivery to {recipient} failed: {type(exc).__name__}") from None
    finally:
        session.close()
    if answer.status_code not in (200, 201):
        raise DeliveryError(f"delivery to {recipient} refused: HTTP {answer.status_code}")
    return Delivered(url, duplicate=answer.status_code == 200)
