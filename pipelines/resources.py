"""Dagster resources: the hub's storage and privacy material, and one per source system."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource, EnvVar, InitResourceContext

from ketenbrug import run_lock
from ketenbrug.config import source_env
from ketenbrug.connectors import CONNECTORS, SOURCES, HttpSettings, SourceConnector
from ketenbrug.privacy import IdentityVault, KeyRing, KeyStore


class HubStorage(ConfigurableResource):
    """Where the warehouse, vault, keys, outbox and disclosure log of this hub live."""

    warehouse_path: str
    vault_path: str
    keys_dir: str
    outbox_dir: str
    disclosure_log: str
    delivery_url: str = ""  # POST to `{recipient}` in this template instead of the outbox
    # The hub's home: a run launched from the UI or a schedule holds its run lock, as
    # `ketenbrug demo` does (ketenbrug/run_lock.py). Empty: no lock (tests' own homes).
    home: str = ""

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[HubStorage]:
        """Hold the hub's run lock for the run, unless this process already holds it.

        Only runs write: a sensor or schedule evaluation (no run id) reads, never locks.
        """
        # Owner-only files for everything the run creates (warehouse .wal, dbt's target/
        # and logs, Dagster's compute logs and storage), also when the run was started by
        # `dagster dev` directly rather than by the `ketenbrug` command, which sets it too.
        os.umask(0o077)
        run_id = getattr(context, "run_id", None)
        if (not self.home or not run_id
                or os.environ.get(run_lock.HELD_BY_ENV) == str(os.getpid())):
            yield self
            return
        with run_lock.hold(Path(self.home), what="Dagster run", run_id=run_id):
            yield self

    def key_store(self) -> KeyStore:
        return KeyStore(Path(self.keys_dir))

    def keyring(self) -> KeyRing:
        """The current key version, created on first use."""
        return self.key_store().init()

    def vault(self) -> IdentityVault:
        self.keyring()  # a first run creates the key before the vault needs it
        return IdentityVault(Path(self.vault_path), self.key_store())


class SourceSystem(ConfigurableResource):
    """Base URL and credential of one source system; the credential comes from the environment."""

    slug: str
    base_url: str
    credential: str
    max_retries: int = 5
    backoff_factor_s: float = 0.5
    read_timeout_s: float = 30.0

    def connector(self) -> SourceConnector:
        if not self.credential:
            raise ValueError(f"{self.slug}: no credential configured")
        return CONNECTORS[self.slug](HttpSettings(
            base_url=self.base_url.rstrip("/"), credential=self.credential,
            max_retries=self.max_retries, backoff_factor_s=self.backoff_factor_s,
            read_timeout_s=self.read_timeout_s))


def source_resources() -> dict[str, SourceSystem]:
    """One resource per source, keyed `source_<slug>`, from KETENBRUG_<SLUG>_URL/_CREDENTIAL."""
    resources = {}
    for slug in SOURCES:
        url_var, credential_var = source_env(slug)
        resources[f"source_{slug}"] = SourceSystem(
            slug=slug, base_url=EnvVar(url_var), credential=EnvVar(credential_var))
    return resources


def hub_storage() -> HubStorage:
    """The hub's storage resource, from KETENBRUG_* variables (see .env.example)."""
    return HubStorage(
        warehouse_path=EnvVar("KETENBRUG_WAREHOUSE"), vault_path=EnvVar("KETENBRUG_VAULT"),
        keys_dir=EnvVar("KETENBRUG_KEYS_DIR"), outbox_dir=EnvVar("KETENBRUG_OUTBOX"),
        disclosure_log=EnvVar("KETENBRUG_DISCLOSURE_LOG"),
        delivery_url=EnvVar("KETENBRUG_DELIVERY_URL"), home=EnvVar("KETENBRUG_HOME"),
    )
