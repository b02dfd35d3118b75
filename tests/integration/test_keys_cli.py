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
