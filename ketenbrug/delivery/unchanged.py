"""Deliveries only when something changed.

A recipient gets a new package (or new billing statements) when its content differs from
the last one delivered to it for that purpose; otherwise nothing is sealed, sent or
logged, and the run reports it as unchanged. The content is told by a stamp: a SHA-256
over what the delivery would hold, computed before anyone is re-identified (for a
handover package: the pseudonymous rows, the key version, how the vault seals those
persons' identities, the recipient's public key and the channel it goes by). Each
delivery entry on the disclosure log carries its stamp, so the log is the one record of
what a recipient has.

`redeliver` (the delivery assets' run config, pipelines/assets/run_options.py;
`--redeliver` on `demo` and `run`) delivers every package again, whatever its stamp.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

CONTENT_STAMP = "content_sha256"  # the field of a delivery entry that holds its stamp


def content_stamp(*parts: object) -> str:
    """SHA-256 over the canonical JSON of `parts` (dates and decimals as text)."""
    canonical = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def last_stamps(entries: Iterable[dict], purpose: str) -> dict[str, str]:
    """Per recipient, the content stamp of the last delivery for `purpose` on the log."""
    return {e["recipient"]: e[CONTENT_STAMP] for e in entries
            if e.get("event") == "delivery" and e.get("purpose") == purpose
            and e.get(CONTENT_STAMP)}
