"""What a recipient has opened: the newest package per recipient and purpose, so an
older one sent again (a replay) is refused instead of passing for the current data.

The state is a small JSON file the recipient keeps beside its key (`GM0363.opened.json`
next to `GM0363.key`), written 0600 and atomically. It holds per recipient and purpose
the `as_of_date`, `generated_at` and SHA-256 of the newest package opened: nothing
personal. Opening the very same package again (same SHA-256) is allowed; an older one
is refused. A package of the same date that is not older is accepted (a re-sent one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ketenbrug.privacy.file_modes import write_private
from ketenbrug.privacy.sealing import OpenedPackage, PackageError


def default_state_path(key_path: Path) -> Path:
    """Where the state of the recipient whose key is `key_path` lives by default."""
    return key_path.with_suffix(".opened.json")


@dataclass(frozen=True)
class OpenedPackages:
    """The replay state in `path`, for checking a package before it is used."""

    path: Path

    def check(self, opened: OpenedPackage) -> None:
        """Refuse (PackageError) a package older than the newest one already opened for
        the same recipient and purpose; the same package again passes."""
        recipient, purpose, stamp = _identify(opened)
        newest = self._read().get(recipient, {}).get(purpose)
        if not newest or newest["sha256"] == opened.sha256:
            return
        if stamp < (newest["as_of_date"], newest["generated_at"]):
            raise PackageError(
                f"replayed: as of {stamp[0]} (generated {stamp[1]}), older than "
                f"{newest['as_of_date']} (generated {newest['generated_at']}) already opened "
                f"for {recipient}, {purpose}")

    def remember(self, opened: OpenedPackage) -> None:
        """Record `opened` as the newest of its recipient and purpose (when it is)."""
        recipient, purpose, stamp = _identify(opened)
        state = self._read()
        newest = state.get(recipient, {}).get(purpose)
        if newest and stamp < (newest["as_of_date"], newest["generated_at"]):
            return
        state.setdefault(recipient, {})[purpose] = {
            "as_of_date": stamp[0], "generated_at": stamp[1], "sha256": opened.sha256}
        write_private(self.path, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode())

    def _read(self) -> dict:
        if not self.path.exists():
            return {}
        try:
            return json.loads(self.path.read_text())
        except ValueError:
            raise PackageError(f"replay state {self.path} is damaged (not JSON); restore it "
                               "or remove it to trust the next package") from None


def _identify(opened: OpenedPackage) -> tuple[str, str, tuple[str, str]]:
    manifest = opened.manifest
    return (str(manifest["recipient"]), str(manifest.get("purpose", "")),
            (str(manifest.get("as_of_date", "")), str(manifest.get("generated_at", ""))))
