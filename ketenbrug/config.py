"""One settings object for the whole hub, read from the environment when asked (never at import).

Every variable is documented in .env.example. Paths default to ./var (git-ignored) under
the directory the hub is started from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path

    @classmethod
    def from_env(cls) -> Settings:
        return cls(home=Path(os.environ.get("KETENBRUG_HOME", "var")).resolve())

    @property
    def warehouse_path(self) -> Path:
        return Path(os.environ.get("KETENBRUG_WAREHOUSE", self.home / "warehouse.duckdb"))

    @property
    def vault_path(self) -> Path:
        return Path(os.environ.get("KETENBRUG_VAULT", self.home / "vault.duckdb"))

    @property
    def keys_dir(self) -> Path:
        return Path(os.environ.get("KETENBRUG_KEYS_DIR", self.home / "keys"))

    # Read from the same variables as Dagster's hub resource, so `audit verify` checks
    # the log the hub writes and `extract`/`status` look in the outbox it delivers to.
    @property
    def outbox_dir(self) -> Path:
        return Path(os.environ.get("KETENBRUG_OUTBOX", self.home / "outbox"))

    @property
    def disclosure_log(self) -> Path:
        return Path(os.environ.get("KETENBRUG_DISCLOSURE_LOG",
                                   self.home / "audit" / "disclosures.jsonl"))

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME", self.home / "dagster_home"))

    def export(self) -> dict[str, str]:
        """The variables child processes (dbt, dagster dev) need to see the same hub."""
        return {
            "KETENBRUG_HOME": str(self.home),
            "KETENBRUG_WAREHOUSE": str(self.warehouse_path),
            "KETENBRUG_VAULT": str(self.vault_path),
            "KETENBRUG_KEYS_DIR": str(self.keys_dir),
            "KETENBRUG_OUTBOX": str(self.outbox_dir),
            "KETENBRUG_DISCLOSURE_LOG": str(self.disclosure_log),
            "DAGSTER_HOME": str(self.dagster_home),
            "KETENBRUG_DELIVERY_URL": os.environ.get("KETENBRUG_DELIVERY_URL", ""),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }


def source_env(slug: str) -> tuple[str, str]:
    """Names of the variables holding a source system's base URL and credential."""
    return f"KETENBRUG_{slug.upper()}_URL", f"KETENBRUG_{slug.upper()}_CREDENTIAL"
