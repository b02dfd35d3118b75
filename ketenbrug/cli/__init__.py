"""`ketenbrug`: the command line of the hub, one module per command group.

Heavy imports (Dagster, dbt, Great Expectations) happen inside the commands, so
`ketenbrug --help` stays fast.
"""

from __future__ import annotations

import os

import click

from ketenbrug.cli.audit import audit
from ketenbrug.cli.config import config
from ketenbrug.cli.contracts import contracts
from ketenbrug.cli.database import db
from ketenbrug.cli.extract import extract
from ketenbrug.cli.hub import demo, ui
from ketenbrug.cli.keys import keys
from ketenbrug.cli.privacy import privacy
from ketenbrug.cli.production import run, serve
from ketenbrug.cli.profiles import profiles
from ketenbrug.cli.quarantine import quarantine
from ketenbrug.cli.retention import retention
from ketenbrug.cli.sources import sources
from ketenbrug.cli.status import status
from ketenbrug.cli.world import world


class _HubCommandLine(click.Group):
    """Shows the hub's refusals (a widened file, a replaced key, a tampered log) as one
    clear line and exit 1, not as a traceback: they are the user's to fix, not bugs."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if isinstance(exc, _refusals()):
                raise click.ClickException(str(exc)) from None
            raise


def _refusals() -> tuple[type[Exception], ...]:
    # Imported only once something failed, so `ketenbrug --help` stays fast.
    from ketenbrug.config import ConfigError
    from ketenbrug.databases import DatabaseUnavailable
    from ketenbrug.privacy.checkpoints import LogTampered
    from ketenbrug.privacy.disclosure_log import LogError
    from ketenbrug.privacy.file_modes import FileModeError
    from ketenbrug.privacy.keys import KeyMaterialError
    from ketenbrug.privacy.vault import VaultError

    return (ConfigError, DatabaseUnavailable, FileModeError, KeyMaterialError, LogError,
            LogTampered, VaultError)


@click.group(cls=_HubCommandLine)
def main() -> None:
    """Ketenbrug: purpose-limited data hub between the justice chain and the social domain."""
    # Owner-only by default: whatever this process or its children (Dagster's storage,
    # dbt's artefacts, DuckDB's .wal) create holds or derives from personal data.
    os.umask(0o077)


for command in (demo, run, serve, status, ui, audit, config, contracts, db, extract, keys,
                privacy, profiles, quarantine, retention, sources, world):
    main.add_command(command)
