"""`ketenbrug keys` as a steward uses it: init, status, rotate."""

import os
import stat

from click.testing import CliRunner

from ketenbrug.cli import main


def _run(home, *args):
    env = {"KETENBRUG_HOME": str(home), "KETENBRUG_KEYS_DIR": str(home / "keys"),
           "KETENBRUG_VAULT": str(home / "vault.duckdb"),
           "KETENBRUG_WAREHOUSE": str(home / "warehouse.duckdb")}
    return CliRunner().invoke(main, ["keys", *args], env=env)


def test_init_status_rotate(tmp_path):
    assert "no keys" in _run(tmp_path, "status").output
    first = _run(tmp_path, "init")
    assert first.exit_code == 0 and "key version 1 ready" in first.output
    assert stat.S_IMODE(os.stat(tmp_path / "keys" / "master-v1.key").st_mode) == 0o600
    rotated = _run(tmp_path, "rotate")
    assert rotated.exit_code == 0 and "rotated v1 -> v2" in rotated.output
    status = _run(tmp_path, "status")
    assert "v1  history" in status.output and "v2  current" in status.output
    key = (tmp_path / "keys" / "master-v2.key").read_bytes()
    assert key.hex() not in status.output + rotated.output


def test_a_widened_key_is_refused_in_one_line_naming_the_file(tmp_path):
    # A refusal is the user's to fix: one line with the file and the chmod, exit 1,
    # never a traceback.
    assert _run(tmp_path, "init").exit_code == 0
    key = tmp_path / "keys" / "master-v1.key"
    os.chmod(key, 0o644)
    refused = CliRunner().invoke(
        main, ["keys", "rotate"],
        env={"KETENBRUG_HOME": str(tmp_path), "KETENBRUG_KEYS_DIR": str(tmp_path / "keys")})
    assert refused.exit_code == 1, refused.output
    assert str(key) in refused.output and "Traceback" not in refused.output
    assert isinstance(refused.exception, SystemExit)  # a clean exit, not a crash
