"""`ketenbrug`: the command line of the hub, one module per command group.

Heavy imports (Dagster, dbt, Great Expectations) happen inside the commands, so
`ketenbrug --help` stays fast.
"""

from __future__ import annotations

import os

import click

from ketenbrug.cli.audit import audit
from ketenbrug.cli.contracts import contracts
from ketenbrug.cli.extract import extract
from ketenbrug.cli.hub import demo, status, ui
from ketenbrug.cli.keys import keys
from ketenbrug.cli.privacy import privacy
from ketenbrug.cli.profiles import profiles
from ketenbrug.cli.quarantine import quarantine
from ketenbrug.cli.retention import retention
from ketenbrug.cli.world import world


@click.group()
def main() -> None:
    """Ketenbrug: purpose-limited data hub between the justice chain and the social domain."""
    # Owner-only by default: whatever this process or its children (Dagster's storage,
    # dbt's artefacts, DuckDB's .wal) create holds or derives from personal data.
    os.umask(0o077)



for command in (demo, status, ui, audit, contracts, extract, keys, privacy, profiles,
                quarantine, retention, world):
    main.add_command(command)
