"""`ketenbrug`: the command line of the hub, one module per command group.

Heavy imports (Dagster, dbt, Great Expectations) happen inside the commands, so
`ketenbrug --help` stays fast.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os

import click

from ketenbrug.cli.conventions import HubGroup
from ketenbrug.cli.startup import importing

# Each command, by the module under ketenbrug.cli that defines it: imported when it runs
# (or a listing shows it), so `ketenbrug run` does not import what `audit` or `portal` need.
COMMAND_MODULES = {
    "demo": "hub", "run": "production", "serve": "production", "status": "status",
    "ui": "hub", "audit": "audit", "config": "config", "contracts": "contracts",
    "db": "database", "extract": "extract", "keys": "keys", "portal": "portal",
    "privacy": "privacy", "profiles": "profiles", "quarantine": "quarantine",
    "retention": "retention", "sources": "sources", "users": "portal", "world": "world",
}


class _HubCommandLine(HubGroup):
    """Every failure is one line on stderr and a non-zero exit; a traceback only with
    `--debug`. The hub's refusals (a widened file, a replaced key, a tampered log) are the
    user's to fix and say so; anything else is named with its type, as a bug would be."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is None:
            return None
        with importing():
            return getattr(importlib.import_module(f"ketenbrug.cli.{module}"), cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, click.ClickException):
            raise
        except Exception as exc:
            from ketenbrug import run_lock

            if isinstance(exc, run_lock.HubBusy):
                click.echo(f"error: {exc}", err=True)
                ctx.exit(3)
            if isinstance(exc, _refusals()):
                raise click.ClickException(str(exc)) from None
            if ctx.meta.get(_DEBUG):
                raise
            first_line = (str(exc).strip().splitlines() or [""])[0]
            raise click.ClickException(
                f"{type(exc).__name__}: {first_line} (`ketenbrug --debug ...` shows the "
                "traceback)") from None


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


_DEBUG = "ketenbrug.debug"

# The interpreter's last act is a full garbage collection over every object still alive —
# after a hub run, the millions Dagster, dbt and pydantic keep: ~1.5 s, only to free what
# the process's exit frees anyway. Frozen, they are skipped. Nothing the hub keeps relies
# on it: every write is committed, flushed and closed where it is made (it must survive
# kill -9, which skips far more than this collection).
atexit.register(gc.freeze)


@click.group(cls=_HubCommandLine)
@click.version_option(package_name="ketenbrug", message="ketenbrug %(version)s")
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
@click.option("--as", "acting_for", metavar="SUBJECT",
              help="Who you are, for the disclosure log [default: your operating-system "
                   "user].")
@click.pass_context
def main(ctx: click.Context, debug: bool, acting_for: str | None) -> None:
    """Ketenbrug: purpose-limited data hub between the justice chain and the social domain."""
    from ketenbrug.privacy.actor import set_cli_subject

    ctx.meta[_DEBUG] = debug
    if acting_for is not None and not acting_for.strip():
        raise click.BadParameter("names nobody; give your user name", param_hint="--as")
    set_cli_subject(acting_for.strip() if acting_for else None)
    # Owner-only by default: whatever this process or its children (Dagster's storage,
    # dbt's artefacts, DuckDB's .wal) create holds or derives from personal data.
    os.umask(0o077)

