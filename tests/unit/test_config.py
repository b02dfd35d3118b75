"""The CLI reads the hub's paths from the same variables as Dagster's hub resource."""

from __future__ import annotations

from click.testing import CliRunner

from ketenbrug.cli.audit import audit
from ketenbrug.config import Settings
from ketenbrug.privacy import append_entry
from ketenbrug.privacy.checkpoints import checkpoint_log
from ketenbrug.privacy.sealing import load_or_create_signing_key


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
