"""Where opened package data may not go: into a hub's home.

Opened, a package is identities in clear text. Written into the hub's home (next to the
package in its outbox, say) it is a leak `privacy scan` reports, and a copy the hub's
retention never removes. So `extract open` refuses a target inside the configured home,
outbox or keys folder, or inside any folder that looks like a hub's home.
"""

from __future__ import annotations

from pathlib import Path

from ketenbrug.run_lock import LOCK_FILE

# What only a hub's home holds: the run lock, the vault, the hub's private signing key.
HOME_MARKERS = (LOCK_FILE, "vault.duckdb", "keys/hub-signing.key")


def hub_folder_holding(target: Path) -> Path | None:
    """The hub folder `target` lies in (itself or an ancestor), or None.

    A hub folder: the configured home, outbox or keys folder (where they exist), or any
    folder holding one of HOME_MARKERS. Read-only; never fails on a broken configuration.
    """
    target = target.expanduser().resolve()
    for configured in _configured_folders():
        if target.is_relative_to(configured):
            return configured
    for folder in (target, *target.parents):
        if any((folder / marker).exists() for marker in HOME_MARKERS):
            return folder
    return None


def _configured_folders() -> list[Path]:
    from ketenbrug.config import ConfigError, Settings

    try:
        settings = Settings.from_env()
    except (ConfigError, OSError, ValueError):  # a recipient's machine need not hold a hub
        return []
    folders = (settings.home, settings.outbox_dir, settings.keys_dir)
    return [f.resolve() for f in folders if f.is_dir()]
