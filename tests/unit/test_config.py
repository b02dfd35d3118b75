"""One configuration: the CLI and Dagster's resources read the same settings, validated at
once, from file and environment, with secrets kept out of files and output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from ketenbrug.cli import main
from ketenbrug.cli.audit import audit
from ketenbrug.config import (
    BY_NAME,
    CATALOGUE,
    ConfigError,
    Settings,
    example_env,
    source_env,
)
from ketenbrug.connectors.manifest import SOURCES
from ketenbrug.privacy import append_entry
from ketenbrug.privacy.checkpoints import checkpoint_log
from ketenbrug.privacy.sealing import load_or_create_signing_key

ROOT = Path(__file__).resolve().parents[2]


def test_the_log_and_outbox_variables_the_hub_writes_to_are_the_ones_the_cli_reads(
        tmp_path, monkeypatch):
    monkeypatch.setenv("KETENBRUG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KETENBRUG_DISCLOSURE_LOG", str(tmp_path / "elsewhere" / "log.jsonl"))
    monkeypatch.setenv("KETENBRUG_OUTBOX", str(tmp_path / "deliveries"))
    settings = Settings.from_env()
    assert settings.disclosure_log == tmp_path / "elsewhere" / "log.jsonl"
    assert settings.outbox_dir == tmp_path / "deliveries"
    assert settings.export()["KETENBRUG_DISCLOSURE_LOG"] == str(settings.disclosure_log)


def test_audit_verify_checks_the_log_the_hub_was_configured_to_write(tmp_path, monkeypatch):
    # Before: `audit verify` looked under KETENBRUG_HOME whatever the hub wrote to, and
    # called a log it could not see intact (or missing) while the real one was cut.
    log = tmp_path / "elsewhere" / "log.jsonl"
    (tmp_path / "home").mkdir()  # the hub's home, whose log is configured elsewhere
    monkeypatch.setenv("KETENBRUG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KETENBRUG_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("KETENBRUG_DISCLOSURE_LOG", str(log))
    for n in range(3):
        append_entry(log, {"event": "delivery", "persons": n})
    checkpoint_log(log, load_or_create_signing_key(tmp_path / "keys"))
    intact = CliRunner().invoke(audit, ["verify"])
    assert intact.exit_code == 0, intact.output
    assert str(log) in intact.output
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:1]))  # cut below the checkpoint
    cut = CliRunner().invoke(audit, ["verify"])
    assert cut.exit_code == 1
    assert "cut" in cut.output


# -- one configuration: file + environment, validated at once, secrets kept out ---------------


def test_every_wrong_value_is_named_in_one_message_and_no_secret_is_echoed(tmp_path):
    environ = {"KETENBRUG_PG_PORT": "54x2", "KETENBRUG_PROFILE": "production",
               "KETENBRUG_AS_OF_DATE": "2026-13-01", "KETENBRUG_DELIVERY_URL": "ftp://x/{recipient}",
               "KETENBRUG_PG_DBNAME": "Ketenbrug; drop", "KETENBRUG_PG_PASSWORD": "hunter2-secret",
               "KETENBRUG_DUCKDB_MEMORY_LIMIT": "lots"}
    with pytest.raises(ConfigError) as error:
        Settings.load(environ, file=tmp_path / "none.yaml")
    message = str(error.value)
    for variable in ("KETENBRUG_PG_PORT", "KETENBRUG_PROFILE", "KETENBRUG_AS_OF_DATE",
                     "KETENBRUG_DELIVERY_URL", "KETENBRUG_PG_DBNAME", "KETENBRUG_CONFIG",
                     "KETENBRUG_DUCKDB_MEMORY_LIMIT"):
        assert variable in message
    assert "hunter2-secret" not in message


def test_settings_that_are_each_fine_but_wrong_together_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="KETENBRUG_EXECUTOR='multiprocess'.*one writer"):
        Settings.for_home(tmp_path, executor="multiprocess")
    with pytest.raises(ConfigError, match="KETENBRUG_MAX_CONCURRENT_RUNS"):
        Settings.for_home(tmp_path, max_concurrent_runs="3")
    production = Settings.for_home(tmp_path, profile="postgres", executor="celery")
    assert production.executor == "celery"


def test_the_file_gives_values_the_environment_overrides_and_paths_follow_the_file(tmp_path):
    config = tmp_path / "etc" / "ketenbrug.yaml"
    config.parent.mkdir()
    config.write_text("home: ../hub\nprofile: postgres\npg_port: 6543\npg_schema: marts\n")
    settings = Settings.load({"KETENBRUG_CONFIG": str(config), "KETENBRUG_PG_PORT": "5433"})
    assert settings.home == tmp_path / "hub"  # relative to the file, not the working dir
    assert settings.keys_dir == tmp_path / "hub" / "keys"
    assert settings.warehouse.port == 5433 and settings.pg_schema == "marts"
    assert settings.origins["pg_port"] == "environment"
    assert settings.origins["pg_schema"] == str(config)


def test_a_secret_or_an_unknown_name_in_the_file_is_refused(tmp_path):
    config = tmp_path / "ketenbrug.yaml"
    config.write_text("pg_password: hunter2-secret\nwarehous: /tmp/typo.duckdb\n")
    with pytest.raises(ConfigError) as error:
        Settings.load({"KETENBRUG_CONFIG": str(config)})
    assert "pg_password is a secret: set KETENBRUG_PG_PASSWORD" in str(error.value)
    assert "unknown setting 'warehous'" in str(error.value)
    assert "hunter2-secret" not in str(error.value)


def test_env_example_lists_every_setting_with_its_default():
    assert (ROOT / ".env.example").read_text() == example_env()
    listed = (ROOT / ".env.example").read_text()
    assert all(f"{s.env}=" in listed for s in CATALOGUE)


def test_exported_settings_give_a_child_process_the_same_hub(tmp_path):
    settings = Settings.for_home(tmp_path, profile="postgres", pg_schema="marts",
                                 as_of_date="2026-11-30")
    child = Settings.load(settings.export(), file=Path(os.devnull))
    assert child.values == settings.values


def test_config_show_masks_secrets_and_says_where_each_value_came_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KETENBRUG_PROBATION_CREDENTIAL", "token-hunter2")
    monkeypatch.setenv("KETENBRUG_CELERY_BROKER", "pyamqp://guest:brokerpass@127.0.0.1:5672//")
    monkeypatch.setenv("KETENBRUG_PG_PORT", "5433")
    shown = CliRunner().invoke(main, ["config", "show"])
    assert shown.exit_code == 0, shown.output
    assert "token-hunter2" not in shown.output and "brokerpass" not in shown.output
    assert "KETENBRUG_PROBATION_CREDENTIAL" in shown.output
    assert "5433  [environment]" in shown.output


def test_run_without_sources_names_every_missing_variable_in_one_line_not_a_traceback(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for setting in CATALOGUE:
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.setenv("KETENBRUG_HOME", str(tmp_path / "hub"))
    monkeypatch.setenv("KETENBRUG_DJI_URL", "http://127.0.0.1:9/")
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    missing = [variable for slug in SOURCES if slug != "dji"
               for variable in source_env(slug)]
    assert all(variable in result.output for variable in missing)
    assert "KETENBRUG_DJI_URL" not in result.output
    assert "KETENBRUG_DAGSTER_UI_URL" not in result.output  # not a source: has a default
    assert not (tmp_path / "hub").exists()  # nothing started


def test_dagster_resources_are_built_from_the_settings_with_secrets_as_env_vars(
        tmp_path, monkeypatch):
    from dagster import EnvVar

    from ketenbrug.cli.instance import instance_config
    from ketenbrug.pipelines.resources import hub_storage, source_resources

    monkeypatch.setenv("KETENBRUG_PG_PASSWORD", "pw-hunter2")
    settings = Settings.load({**{s.env: s.default for s in CATALOGUE if "{home}" not in
                                 s.default}, "KETENBRUG_HOME": str(tmp_path),
                              "KETENBRUG_PROFILE": "postgres", "KETENBRUG_PG_PASSWORD": "x",
                              "KETENBRUG_CARE_URL": "http://care.example:8104",
                              "KETENBRUG_CARE_CREDENTIAL": "c"},
                             file=Path(os.devnull))
    hub = hub_storage(settings)
    assert hub.warehouse_url == "postgresql://ketenbrug@127.0.0.1:5432/ketenbrug"
    assert hub.vault_url.endswith("/ketenbrug_vault")
    assert hub.disclosure_log == str(settings.disclosure_log)
    assert isinstance(hub.warehouse_password, EnvVar)  # resolved at run time, never shown
    assert hub.warehouse_password.env_var_name == BY_NAME["pg_password"].env
    care = source_resources(settings)["source_care"]
    assert care.base_url == "http://care.example:8104"
    storage = instance_config(settings)["storage"]["postgres"]["postgres_db"]
    assert storage["db_name"] == "ketenbrug_dagster"
    assert storage["password"] == {"env": "KETENBRUG_PG_PASSWORD"}
    assert instance_config(settings)["concurrency"]["runs"]["max_concurrent_runs"] == 4
    assert "event_log_storage" not in instance_config(settings)
    embedded = instance_config(Settings.for_home(tmp_path))
    assert "storage" not in embedded  # Dagster's SQLite storage, in its usual folders
    assert embedded["event_log_storage"]["class"] == "BatchingSqliteEventLogStorage"
    assert embedded["event_log_storage"]["config"]["base_dir"] == \
        str(tmp_path / "dagster_home" / "history" / "runs")


def test_full_pulls_are_read_ahead_only_where_steps_run_one_at_a_time(tmp_path):
    from ketenbrug.pipelines.resources import hub_storage

    assert hub_storage(Settings.for_home(tmp_path)).read_ahead  # embedded: a core is idle
    assert not hub_storage(Settings.for_home(tmp_path, profile="postgres",
                                             executor="multiprocess")).read_ahead


def test_dbt_builds_the_embedded_warehouse_within_the_configured_memory(tmp_path):
    import yaml

    from ketenbrug.pipelines.dbt_profile import dbt_profile_args
    from ketenbrug.pipelines.resources import resources_for

    settings = Settings.for_home(tmp_path, duckdb_memory_limit="512MB")
    args = dbt_profile_args(resources_for(settings)["hub"])
    profile = yaml.safe_load((Path(args[1]) / "profiles.yml").read_text())
    assert profile["ketenbrug"]["outputs"]["duckdb"]["settings"] == {"memory_limit": "512MB"}
    default = resources_for(Settings.for_home(tmp_path / "other"))["hub"]
    profile = yaml.safe_load((Path(dbt_profile_args(default)[1]) / "profiles.yml").read_text())
    assert "settings" not in profile["ketenbrug"]["outputs"]["duckdb"]  # DuckDB's own default
