"""`ketenbrug profiles show`: client profiles as a probation officer reads them."""

from __future__ import annotations

import json

import click

from ketenbrug.cli.access import wait_to_read
from ketenbrug.cli.conventions import HubGroup
from ketenbrug.config import Settings


@click.group(cls=HubGroup)
def profiles() -> None:
    """Client profiles as a probation officer reads them (every read is logged)."""


@profiles.command()
@click.option("--org", required=True, type=click.Choice(["RN", "SVG", "LJR"]),
              help="Your probation organisation: you see its clients only.")
@click.option("--client", "client_pseudonym", help="One client's pseudonym.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="At most this many profiles (JSON lines).")
def show(org: str, client_pseudonym: str | None, limit: int) -> None:
    """Print the organisation's client profiles (pseudonymised)."""
    from ketenbrug.delivery.profile_reads import read_profiles
    from ketenbrug.privacy import PseudonymError
    from ketenbrug.privacy.actor import acting_as, cli_actor

    try:
        settings = Settings.from_env()
        wait_to_read(settings)
        with acting_as(cli_actor("probation_officer", org)):
            rows = read_profiles(settings, org, client_pseudonym, limit)
    except PseudonymError as refused:
        raise click.ClickException(str(refused)) from None
    if client_pseudonym and rows and rows[0]["client_pseudonym"] != client_pseudonym:
        click.echo(f"{client_pseudonym} predates a key rotation; this client is now "
                   f"{rows[0]['client_pseudonym']}", err=True)
    for row in rows:
        click.echo(json.dumps(row, default=str, sort_keys=True))
    click.echo(f"{len(rows)} profile(s) of {org} (this read is in the disclosure log)", err=True)
