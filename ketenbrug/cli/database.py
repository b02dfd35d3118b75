"""`ketenbrug db`: the PostgreSQL server of the postgres profile, prepared once by an admin."""

from __future__ import annotations

import os

import click

from ketenbrug.cli.conventions import HubGroup
from ketenbrug.config import Settings

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@click.group(cls=HubGroup)
def db() -> None:
    """The postgres profile's roles and databases (KETENBRUG_PROFILE=postgres)."""


@db.command()
@click.option("--admin-url", default=DEFAULT_ADMIN_URL, show_default=True,
              help="A role that may create roles and databases, without its password "
                   "(that comes from KETENBRUG_PG_ADMIN_PASSWORD; empty: trust).")
def setup(admin_url: str) -> None:
    """Create the warehouse and vault roles and their databases, and keep each role out of
    the other's database. Safe to run again: it changes only what is not yet in place."""
    from ketenbrug.databases import PostgresTarget
    from ketenbrug.stewardship.database_setup import SetupError, setup_databases

    settings = Settings.from_env()
    warehouse, vault = settings.warehouse, settings.vault
    if not isinstance(warehouse, PostgresTarget) or not isinstance(vault, PostgresTarget):
        raise click.ClickException(
            f"`db setup` prepares the postgres profile; this hub's profile is "
            f"{settings.profile!r}: set KETENBRUG_PROFILE=postgres and the KETENBRUG_PG_* "
            "and KETENBRUG_VAULT_PG_* variables")
    try:
        admin = PostgresTarget.from_url(
            admin_url, password=os.environ.get("KETENBRUG_PG_ADMIN_PASSWORD", ""))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--admin-url") from None
    storage = settings.dagster_storage
    assert storage is not None  # the postgres profile keeps Dagster's storage there
    dagster_dbname = storage.dbname
    try:
        done = setup_databases(admin, warehouse, vault, dagster_dbname)
    except SetupError as exc:
        raise click.ClickException(str(exc)) from None
    for line in done:
        click.echo(line)
    if not done:
        click.echo(f"nothing to do: roles {warehouse.user} and {vault.user} and databases "
                   f"{warehouse.dbname}, {dagster_dbname} and {vault.dbname} are in place")
