"""A municipality's inbox: the sealed packages and billing statements in its outbox folder.

What the hub wrote for `code` under outbox/<code>/: warm-handover packages (*.kbpkg),
billing statements per month (billing/<YYYY-MM>/, manifest signed) and the hub's public
signing key to verify them with. Each item carries its SHA-256, so a receipt names the
exact bytes received, and what the disclosure log says was in it (persons, when).
A file is only ever looked up inside the municipality's own folder.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ketenbrug.privacy.hub_key import HUB_KEY_FILE

PACKAGE_NAME = re.compile(r"[A-Za-z0-9_.-]+\.kbpkg")
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
STATEMENT_FILE = re.compile(r"[A-Za-z0-9_.-]+\.(csv|json|sig)")


class NotInInbox(LookupError):
    """No such item in this municipality's inbox (also for a name that could not be one)."""


@dataclass(frozen=True)
class Item:
    name: str  # a package's file name, or billing/<month>
    files: tuple[str, ...]
    sha256: str  # of the package, or of a statement's signed manifest
    size: int
    written_at: datetime
    persons: int | None  # from the disclosure log's delivery entry, when there is one
    delivered_at: str | None


@dataclass(frozen=True)
class Inbox:
    packages: list[Item]
    statements: list[Item]
    hub_key: Path | None


def read_inbox(outbox: Path, code: str, log_entries: list[dict]) -> Inbox:
    folder = outbox / code
    deliveries = _deliveries(log_entries, f"municipality:{code}")
    packages = [_item(p.name, (p.name,), p, deliveries)
                for p in sorted(folder.glob("*.kbpkg"), reverse=True)]
    statements = [_item(f"billing/{m.name}", tuple(sorted(f.name for f in m.iterdir()
                                                          if f.is_file())),
                        m / "manifest.json", deliveries)
                  for m in sorted((folder / "billing").glob("*"), reverse=True)
                  if MONTH.fullmatch(m.name) and (m / "manifest.json").exists()]
    hub_key = folder / HUB_KEY_FILE
    return Inbox(packages, statements, hub_key if hub_key.exists() else None)


def package_file(outbox: Path, code: str, name: str) -> Path:
    if not PACKAGE_NAME.fullmatch(name):
        raise NotInInbox(f"no package {name!r} in your inbox")
    return _existing(outbox / code / name, f"no package {name!r} in your inbox")


def statement_file(outbox: Path, code: str, month: str, name: str) -> Path:
    if not (MONTH.fullmatch(month) and STATEMENT_FILE.fullmatch(name)):
        raise NotInInbox(f"no billing file {name!r} for {month!r} in your inbox")
    return _existing(outbox / code / "billing" / month / name,
                     f"no billing file {name!r} for {month} in your inbox")


def hub_key_file(outbox: Path, code: str) -> Path:
    return _existing(outbox / code / HUB_KEY_FILE, "the hub has not published its key here yet")


def item_of(outbox: Path, code: str, name: str) -> tuple[str, str]:
    """(name, sha256) of the package or billing month `name` as it is now."""
    if name.startswith("billing/"):
        path = statement_file(outbox, code, name.removeprefix("billing/"), "manifest.json")
    else:
        path = package_file(outbox, code, name)
    return name, sha256_of(path)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _existing(path: Path, missing: str) -> Path:
    # The patterns allow no separators, but a symlink placed in the folder could still
    # point elsewhere: what is served must really live in the outbox.
    if not path.is_file() or path.is_symlink():
        raise NotInInbox(missing)
    return path


def _item(name: str, files: tuple[str, ...], path: Path, deliveries: dict[str, dict]
          ) -> Item:
    sha = sha256_of(path)
    stat = path.stat()
    delivery = deliveries.get(sha, {})
    persons = delivery.get("persons")
    return Item(name, files, sha, stat.st_size,
                datetime.fromtimestamp(stat.st_mtime, UTC),
                persons if isinstance(persons, int) else None, delivery.get("at"))


def _deliveries(entries: list[dict], recipient: str) -> dict[str, dict]:
    """The recipient's delivery entries by the SHA-256 of what was delivered."""
    found = {}
    for entry in entries:
        if entry.get("event") == "delivery" and entry.get("recipient") == recipient:
            for key in ("package_sha256", "manifest_sha256"):
                if entry.get(key):
                    found[str(entry[key])] = entry
    return found
