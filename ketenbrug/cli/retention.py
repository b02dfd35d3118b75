"""`ketenbrug retention plan | apply`: what has passed its retention period, and its removal."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import date

import click

from ketenbrug.cli.access import require_hub, wait_to_read, writing
from ketenbrug.cli.conventions import HubGroup, as_of_option
from ketenbrug.config import Settings

_AS_OF_HELP = "Date to judge retention on, YYYY-MM-DD [default: today]."


@click.group(cls=HubGroup)
def retention() -> None:
    """Retention periods from the connector manifests and the purposes register."""


@retention.command()
@as_of_option(_AS_OF_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as one JSON document.")
def plan(as_of: date | None, as_json: bool) -> None:
    """What `apply` would remove, per dataset and with counts; changes nothing."""
    from ketenbrug.stewardship.retention import RetentionRefused, plan_retention

    settings = Settings.from_env()
    wait_to_read(settings)
    _require_warehouse(settings)
    try:
        result = plan_retention(settings.warehouse, settings.vault, settings.keys_dir,
                                settings.outbox_dir, as_of or date.today())
    except RetentionRefused as refused:
        raise click.ClickException(str(refused)) from None
    if as_json:
        click.echo(json.dumps(asdict(result), default=str, indent=2, sort_keys=True))
        return
    click.echo(f"retention on {result.as_of} would remove:")
    _print_counts(result, "")
    click.echo("nothing removed yet: `ketenbrug retention apply --as-of "
               f"{result.as_of} --yes` does it")


@retention.command()
@as_of_option(_AS_OF_HELP)
@click.option("--yes", is_flag=True,
              help="Remove without asking; without it, apply shows the plan and asks first.")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
def apply(as_of: date | None, yes: bool, as_json: bool) -> None:
    """Remove records, identities and packages past retention; log what was removed.

    Shows the plan and asks first; on a script's stdin (no terminal) it refuses unless
    --yes, since a removal cannot be undone.
    """
    from ketenbrug.privacy.actor import acting_as, cli_actor
    from ketenbrug.stewardship.retention import RetentionRefused, apply_retention, plan_retention

    settings = Settings.from_env()
    require_hub(settings)
    _require_warehouse(settings)
    on = as_of or date.today()
    try:
        if not yes:
            wait_to_read(settings)
            planned = plan_retention(settings.warehouse, settings.vault, settings.keys_dir,
                                     settings.outbox_dir, on)
            click.echo(f"retention on {on} would remove:", err=as_json)
            _print_counts(planned, "", err=as_json)
            if not sys.stdin.isatty():
                raise click.ClickException("not removed: give --yes to remove without asking")
            click.confirm("remove these for good?", abort=True, err=True)
        with writing(settings, "retention apply"), acting_as(cli_actor("data_steward")):
            result = apply_retention(settings.warehouse, settings.vault, settings.keys_dir,
                                     settings.outbox_dir, settings.disclosure_log, on)
    except RetentionRefused as refused:
        raise click.ClickException(str(refused)) from None
    if as_json:
        click.echo(json.dumps(asdict(result), default=str, indent=2, sort_keys=True))
        return
    _print_counts(result, " removed")
    click.echo("logged in the disclosure log; the next hub run rebuilds the marts without them")


def _print_counts(result, suffix: str, err: bool = False) -> None:
    for dataset, count in sorted(result.records_removed.items()):
        click.echo(f"  {dataset:<32} {count} record(s){suffix}", err=err)
    click.echo(f"  {'identity vault':<32} {result.vault_persons_removed} person(s){suffix}",
               err=err)
    click.echo(f"  {'outbox':<32} {result.packages_removed} package(s){suffix}", err=err)


def _require_warehouse(settings: Settings) -> None:
    from ketenbrug.databases import exists

    if not exists(settings.warehouse):
        raise click.ClickException(
            f"no warehouse at {settings.warehouse}: nothing to judge; is KETENBRUG_HOME "
            "the hub's home?")
