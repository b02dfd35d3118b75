"""`ketenbrug retention plan | apply`: what has passed its retention period, and its removal."""

from __future__ import annotations

from datetime import date

import click

from ketenbrug.cli.access import wait_to_read, writing
from ketenbrug.config import Settings


@click.group()
def retention() -> None:
    """Retention periods from the connector manifests and the purposes register."""


@retention.command()
@click.option("--as-of", "as_of", help="Date to judge retention on, YYYY-MM-DD [default: today].")
def plan(as_of: str | None) -> None:
    """What `apply` would remove, per dataset and with counts; changes nothing."""
    from ketenbrug.stewardship.retention import RetentionRefused, plan_retention

    settings = Settings.from_env()
    wait_to_read(settings)
    try:
        result = plan_retention(settings.warehouse, settings.vault, settings.keys_dir,
                                settings.outbox_dir,
                                date.fromisoformat(as_of) if as_of else date.today())
    except RetentionRefused as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"retention on {result.as_of} would remove:")
    for dataset, count in sorted(result.records_removed.items()):
        click.echo(f"  {dataset:<32} {count} record(s)")
    click.echo(f"  {'identity vault':<32} {result.vault_persons_removed} person(s)")
    click.echo(f"  {'outbox':<32} {result.packages_removed} package(s)")
    click.echo("nothing removed yet: `ketenbrug retention apply` with the same date does it")


@retention.command()
@click.option("--as-of", "as_of", help="Date to judge retention on, YYYY-MM-DD [default: today].")
def apply(as_of: str | None) -> None:
    """Remove records, identities and packages past retention; log what was removed."""
    from ketenbrug.stewardship.retention import RetentionRefused, apply_retention

    settings = Settings.from_env()
    try:
        with writing(settings, "retention apply"):
            result = apply_retention(settings.warehouse, settings.vault,
                                     settings.keys_dir, settings.outbox_dir,
                                     settings.disclosure_log,
                                     date.fromisoformat(as_of) if as_of else date.today())
    except RetentionRefused as refused:
        raise click.ClickException(str(refused)) from None
    for dataset, count in sorted(result.records_removed.items()):
        click.echo(f"  {dataset:<32} {count} record(s) removed")
    click.echo(f"  {'identity vault':<32} {result.vault_persons_removed} person(s) removed")
    click.echo(f"  {'outbox':<32} {result.packages_removed} package(s) removed")
    click.echo("logged in the disclosure log; the next hub run rebuilds the marts without them")
