"""`ketenbrug retention apply`: remove what has passed its retention period."""

from __future__ import annotations

from datetime import date

import click

from ketenbrug.config import Settings


@click.group()
def retention() -> None:
    """Retention periods from the connector manifests and the purposes register."""


@retention.command()
@click.option("--as-of", "as_of", help="Date to judge retention on, YYYY-MM-DD [default: today].")
def apply(as_of: str | None) -> None:
    """Remove records, identities and packages past retention; log what was removed."""
    from ketenbrug.stewardship.retention import apply_retention

    settings = Settings.from_env()
    result = apply_retention(settings.warehouse_path, settings.vault_path, settings.keys_dir,
                             settings.outbox_dir, settings.disclosure_log,
                             date.fromisoformat(as_of) if as_of else date.today())
    for dataset, count in sorted(result.records_removed.items()):
        click.echo(f"  {dataset:<32} {count} record(s) removed")
    click.echo(f"  {'identity vault':<32} {result.vault_persons_removed} person(s) removed")
    click.echo(f"  {'outbox':<32} {result.packages_removed} package(s) removed")
    click.echo("logged in the disclosure log; the next hub run rebuilds the marts without them")
