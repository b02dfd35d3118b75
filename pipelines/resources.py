"""Dagster resources: the hub's storage and privacy material, and one per source system."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar, InitResourceContext

from ketenbrug import run_lock
from ketenbrug.config import BY_NAME, Settings, source_env
from ketenbrug.connectors import CONNECTORS, SOURCES, HttpSettings, SourceConnector
from ketenbrug.databases import PostgresTarget, Target
from ketenbrug.privacy import IdentityVault, KeyRing, KeyStore
from ketenbrug.privacy.log_tables import PostgresLines
from ketenbrug.project_files import dbt_run_target
from ketenbrug.run_lock_postgres import step_holds


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
    # The production profile: postgresql://user@host:port/dbname of the warehouse and of
    # the vault (its own database and role); empty: the DuckDB files above. Passwords
    # come from the environment (EnvVar), never from run config.
    warehouse_url: str = ""
    warehouse_password: str = ""
    vault_url: str = ""
    vault_password: str = ""
    dbt_schema: str = "ketenbrug"  # postgres: the schema dbt builds the models in
    duckdb_memory_limit: str = ""  # embedded: DuckDB's memory for dbt (empty: its default)
    as_of_date: str = ""  # the date the hub acts as of; empty: today
    # A deployment's hub (resources_for) refuses to start a run while any source system's
    # URL or credential is missing, naming every one (tests' own hubs pull what they serve).
    require_sources: bool = False
    # A full pull is read ahead by a process of its own (connectors/read_ahead.py): on the
    # in-process executor the second core is otherwise idle; where steps already run two
    # at a time, a third process per pull would only add its start-up.
    read_ahead: bool = False

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[HubStorage]:
        """Hold the hub's run lock for the run, unless this process already holds it.

        Only runs write: a sensor or schedule evaluation (no run id) reads, never locks.
        On PostgreSQL the home's lock is not taken here: the steps of one run execute in
        several processes (or on Celery workers, away from the home), and the databases
        take writers at once. Each step holds the warehouse's lock shared instead, which
        keeps writing commands out (run_lock_postgres.py); runs are kept apart by Dagster's
        run queue and pools (dagster.yaml); `ketenbrug run` still holds the home's lock
        for the whole run.
        """
        # Owner-only files for everything the run creates (warehouse .wal, dbt's target/
        # and logs, Dagster's compute logs and storage), also when the run was started by
        # `dagster dev` directly rather than by the `ketenbrug` command, which sets it too.
        os.umask(0o077)
        run_id = getattr(context, "run_id", None)
        if run_id and self.require_sources:
            Settings.load().require_sources()
        if run_id and self.warehouse_url:
            with step_holds(PostgresTarget.from_url(self.warehouse_url,
                                                    self.warehouse_password)):
                yield self
            return
        if (not self.home or not run_id
                or os.environ.get(run_lock.HELD_BY_ENV) == str(os.getpid())):
            yield self
            return
        with run_lock.hold(Path(self.home), what="Dagster run", run_id=run_id):
            yield self

    def warehouse_target(self) -> Target:
        if self.warehouse_url:
            return PostgresTarget.from_url(self.warehouse_url, self.warehouse_password)
        return Path(self.warehouse_path)

    def vault_target(self) -> Target:
        if self.vault_url:
            return PostgresTarget.from_url(self.vault_url, self.vault_password)
        return Path(self.vault_path)

    def files_dir(self) -> Path:
        """The hub's own folder (dbt's profile and artefacts live there): its home, or for a
        test's hub without one, the folder of its DuckDB warehouse."""
        if self.home:
            return Path(self.home)
        if self.warehouse_url:
            raise ValueError("a hub on PostgreSQL needs its home folder (HubStorage.home)")
        return Path(self.warehouse_path).parent

    def dbt_target_dir(self) -> Path:
        """Where this hub's dbt build writes its manifest and compiled SQL."""
        return dbt_run_target(self.warehouse_target(), self.home)

    def disclosure_log_location(self) -> Path | PostgresLines:
        """The log file, or on PostgreSQL its table in the warehouse database."""
        warehouse = self.warehouse_target()
        if isinstance(warehouse, PostgresTarget):
            return PostgresLines(warehouse)
        return Path(self.disclosure_log)

    def acts_as_of(self) -> str:
        return self.as_of_date or date.today().isoformat()

    def key_store(self) -> KeyStore:
        return KeyStore(Path(self.keys_dir))

    def keyring(self) -> KeyRing:
        """The current key version, created on first use."""
        return self.key_store().init()

    def vault(self) -> IdentityVault:
        self.keyring()  # a first run creates the key before the vault needs it
        return IdentityVault(self.vault_target(), self.key_store())


class SourceSystem(ConfigurableResource):
    """One source system: its base URL and credential (from the environment), or, in
    production, its entry in the sources file (`sources_file`), whose secrets are read
    from their variables and files only when the connector is built, in the step."""

    slug: str
    base_url: str
    credential: str
    max_retries: int = 5
    backoff_factor_s: float = 0.5
    read_timeout_s: float = 30.0
    sources_file: str = ""

    def connector(self) -> SourceConnector:
        if self.sources_file:
            from ketenbrug.connectors.source_config import load_sources

            configured = load_sources(self.sources_file, required=(self.slug,))
            return CONNECTORS[self.slug](configured[self.slug].settings)
        if not self.credential:
            raise ValueError(f"{self.slug}: no credential configured")
        return CONNECTORS[self.slug](HttpSettings(
            base_url=self.base_url.rstrip("/"), credential=self.credential,
            max_retries=self.max_retries, backoff_factor_s=self.backoff_factor_s,
            read_timeout_s=self.read_timeout_s))


def resources_for(settings: Settings) -> dict[str, Any]:
    """The resources of one deployment, built from its settings (the way Dagster's example
    projects choose resources per deployment): the hub's storage, dbt on the profile's
    warehouse, and one resource per source system. Secrets stay environment variables
    (EnvVar), so they never appear in run config or in the UI."""
    from dagster_dbt import DbtCliResource

    from ketenbrug.pipelines.dbt_project import KETENBRUG_DBT

    return {
        "hub": hub_storage(settings),
        # dbt from this interpreter's environment, whether or not the venv is on PATH.
        "dbt": DbtCliResource(project_dir=KETENBRUG_DBT,
                              dbt_executable=str(Path(sys.executable).parent / "dbt")),
        **source_resources(settings),
    }


def source_resources(settings: Settings) -> dict[str, SourceSystem]:
    """One resource per source, keyed `source_<slug>`: its URL from the settings, its
    credential from KETENBRUG_<SLUG>_CREDENTIAL."""
    if settings.sources_file is not None:
        from ketenbrug.connectors.source_config import base_urls

        urls = base_urls(settings.sources_file)
        return {f"source_{slug}": SourceSystem(slug=slug, base_url=urls.get(slug, ""),
                                               credential="",
                                               sources_file=str(settings.sources_file))
                for slug in SOURCES}
    resources = {}
    for slug in SOURCES:
        url, credential = settings.source(slug)
        _, credential_var = source_env(slug)
        resources[f"source_{slug}"] = SourceSystem(
            slug=slug, base_url=url, credential=EnvVar(credential_var) if credential else "")
    return resources


def hub_storage(settings: Settings) -> HubStorage:
    """The hub's storage resource: the warehouse and vault of the settings' profile."""
    fields: dict[str, Any] = {}
    if settings.profile == "postgres":
        warehouse, vault = settings.warehouse, settings.vault
        assert isinstance(warehouse, PostgresTarget) and isinstance(vault, PostgresTarget)
        fields = {"warehouse_url": warehouse.url, "vault_url": vault.url,
                  "warehouse_password": _secret("pg_password", settings),
                  "vault_password": _secret("vault_pg_password", settings),
                  "dbt_schema": settings.pg_schema}
    return HubStorage(
        warehouse_path=str(settings.warehouse_path), vault_path=str(settings.vault_path),
        keys_dir=str(settings.keys_dir), outbox_dir=str(settings.outbox_dir),
        disclosure_log=str(settings.disclosure_log), delivery_url=settings.delivery_url,
        home=str(settings.home), as_of_date=settings.as_of_date, require_sources=True,
        duckdb_memory_limit=settings.duckdb_memory_limit,
        read_ahead=settings.executor == "in_process", **fields)


def _secret(name: str, settings: Settings) -> Any:
    return EnvVar(BY_NAME[name].env) if settings.values[name] else ""
