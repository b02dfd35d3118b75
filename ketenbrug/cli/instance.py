"""The Dagster instance of a deployment: dagster.yaml written from the hub's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ketenbrug import yaml_files
from ketenbrug.config import BY_NAME, Settings
from ketenbrug.privacy.file_modes import private_dir, write_private
from ketenbrug.project_files import DAGSTER_INSTANCE_TEMPLATE


def instance_config(settings: Settings) -> dict[str, Any]:
    """dagster.yaml for the settings' profile: the project's template, plus PostgreSQL
    storage and the run queue's size on the production profile; on embedded, Dagster's
    SQLite storage in its usual folders, its event log writing a batch of events at once
    (pipelines/event_log_storage.py)."""
    config = yaml_files.safe_load(DAGSTER_INSTANCE_TEMPLATE.read_text())
    config["concurrency"]["runs"]["max_concurrent_runs"] = settings.max_concurrent_runs
    storage = settings.dagster_storage
    if storage is not None:
        password: Any = ({"env": BY_NAME["pg_password"].env}
                         if settings.values["pg_password"] else "")
        config["storage"] = {"postgres": {"postgres_db": {
            "hostname": storage.host, "port": storage.port, "username": storage.user,
            "password": password, "db_name": storage.dbname,
            # SQLAlchemy 2.1 reads plain postgresql:// as psycopg 3 (../shared/STACK.md).
            "scheme": "postgresql+psycopg2"}}}
    else:
        config["event_log_storage"] = {
            "module": "ketenbrug.pipelines.event_log_storage",
            "class": "BatchingSqliteEventLogStorage",
            # Where Dagster's default SQLite storage keeps it: a home keeps its run history.
            "config": {"base_dir": str(settings.dagster_home / "history" / "runs")}}
    return config


def write_instance(settings: Settings) -> Path:
    """Write $DAGSTER_HOME/dagster.yaml (owner-only); return its path."""
    path = private_dir(settings.dagster_home) / "dagster.yaml"
    header = "# Written by ketenbrug from its settings (ketenbrug config show); edits are lost.\n"
    write_private(path, (header + yaml.safe_dump(instance_config(settings),
                                                 sort_keys=False)).encode())
    return path
