"""Shared fixtures: keys and stores in temporary folders, never under var/."""

from __future__ import annotations

import os
import tempfile

import pytest

from ketenbrug.privacy import IdentityVault, KeyStore, load_or_create_keyring

try:  # a dev dependency: an environment without it still runs every other test
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover
    settings = None  # type: ignore[assignment,misc]

if settings is not None:
    # `ci` (CI=true): the same examples on every run, so a red build reproduces; `dev`:
    # fresh examples each run. Neither writes an example database into the checkout; a
    # failure prints the blob to replay it with @reproduce_failure. Each fuzz test sets
    # its own max_examples (the counts the lead reports); deadline off: no timed tests.
    _common = {"deadline": None, "database": None, "print_blob": True,
               "suppress_health_check": [HealthCheck.too_slow]}
    settings.register_profile("ci", derandomize=True, **_common)
    settings.register_profile("dev", **_common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                          or ("ci" if os.environ.get("CI") else "dev"))


def pytest_configure(config):
    """Parse the dbt project once, before any xdist worker starts. Workers would each parse
    a fresh checkout's project at collection (importing pipelines.definitions), writing
    dbt_project/target/manifest.json while the other reads it. The parse's variables are
    put back, so neither the workers nor the hubs the tests start inherit them."""
    if hasattr(config, "workerinput"):  # a worker: the controller has parsed
        return
    from ketenbrug.project_files import ensure_dbt_manifest

    with tempfile.TemporaryDirectory() as scratch, pytest.MonkeyPatch.context() as patch:
        patch.setenv("KETENBRUG_WAREHOUSE", os.path.join(scratch, "parse.duckdb"))
        patch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        ensure_dbt_manifest()


@pytest.fixture(autouse=True)
def _keep_umask():
    """`ketenbrug`'s entry point sets an owner-only umask for its whole process; a test
    that runs it in-process (CliRunner) gives the tests after it their umask back."""
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)


@pytest.fixture
def keyring(tmp_path):
    return load_or_create_keyring(tmp_path / "keys")


@pytest.fixture
def vault(tmp_path, keyring):
    return IdentityVault(tmp_path / "vault.duckdb", KeyStore(tmp_path / "keys"))


@pytest.fixture
def pg_database():
    """A throw-away PostgreSQL database (tests/postgres.py); skips without a server,
    fails under CI=true."""
    from tests.postgres import scratch_database

    with scratch_database() as target:
        yield target
