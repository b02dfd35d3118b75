"""`ketenbrug quarantine`: list, inspect, release or drop batches that failed their contract."""

from __future__ import annotations

import getpass
import json
import sys

import click

from ketenbrug.cli.access import wait_to_read, writing
from ketenbrug.cli.conventions import HubGroup
from ketenbrug.config import Settings


@click.group(cls=HubGroup)
def quarantine() -> None:
    """Batches held back by their data contract. Reports name rules and record keys only."""


@quarantine.command("list")
@click.option("--status", default="quarantined", show_default=True,
              type=click.Choice(["quarantined", "released", "dropped", "passed", "all"]))
@click.option("--json", "as_json", is_flag=True, help="Print the batches as a JSON list.")
def list_(status: str, as_json: bool) -> None:
    """Batches in quarantine (or with another status), newest first."""
    from ketenbrug.stewardship.quarantine import list_batches

    settings = Settings.from_env()
    wait_to_read(settings)
    batches = list_batches(settings.warehouse, status)
    if as_json:
        click.echo(json.dumps(batches, default=str, indent=2, sort_keys=True))
        return
    if not batches:
        click.echo(f"no {status} batches" if status != "all" else "no batches")
    for b in batches:
        click.echo(f"{b['batch_id']}  {b['status']:<11} received {b['received']} = staged "
                   f"{b['staged']} + quarantined {b['quarantined']} + unchanged "
                   f"{b['unchanged']} + rejected {b['rejected']}")


@quarantine.command()
@click.argument("batch_id")
@click.option("--json", "as_json", is_flag=True,
              help="Print the ledger row, rejections and decisions as one JSON document.")
def show(batch_id: str, as_json: bool) -> None:
    """Why a batch is held: failed rules with counts and record keys, rejections, decisions."""
    from ketenbrug.stewardship.quarantine import QuarantineError, show_batch

    try:
        settings = Settings.from_env()
        wait_to_read(settings)
        report = show_batch(settings.warehouse, batch_id)
    except QuarantineError as exc:
        raise click.ClickException(str(exc)) from None
    ledger = report.ledger
    if as_json:
        click.echo(json.dumps({"ledger": ledger, "rejections": report.rejections,
                               "decisions": report.decisions},
                              default=str, indent=2, sort_keys=True))
        return
    click.echo(f"batch    {batch_id}\nsource   {ledger['source']}.{ledger['dataset']}\n"
               f"status   {ledger['status']} (contract v{ledger['contract_version']})\n"
               f"records  received {ledger['received']} = staged {ledger['staged']} + "
               f"quarantined {ledger['quarantined']} + unchanged "
               f"{ledger.get('unchanged', 0)} + rejected {ledger['rejected']}")
    click.echo("contract verdict:")
    for rule in (ledger["verdict"] or "not yet checked").split("; "):
        click.echo(f"  {rule}")
    for reason, count in report.rejections.items():
        click.echo(f"rejected {count:>6}  {reason}")
    for d in report.decisions:
        click.echo(f"decision {d['decision']} by {d['decided_by']} at {d['decided_at']}: "
                   f"{d['reason']}")


@quarantine.command()
@click.argument("batch_id")
@click.option("--reason", required=True, help="What was fixed, for the record.")
def release(batch_id: str, reason: str) -> None:
    """Publish a quarantined batch once it passes its contract as that stands now."""
    from ketenbrug.stewardship.quarantine import QuarantineError, release_batch

    settings = Settings.from_env()
    try:
        with writing(settings, "quarantine release"):
            result = release_batch(settings.warehouse, batch_id, reason,
                                   getpass.getuser())
    except QuarantineError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"released {batch_id}: {result.rows} records pass all {result.rules} rules; "
               "the next hub run publishes them")


@quarantine.command()
@click.argument("batch_id")
@click.option("--reason", required=True, help="Why the records are rejected.")
def drop(batch_id: str, reason: str) -> None:
    """Reject every record of a quarantined batch, with a reason kept per record."""
    from ketenbrug.stewardship.quarantine import QuarantineError, drop_batch

    settings = Settings.from_env()
    try:
        with writing(settings, "quarantine drop"):
            count = drop_batch(settings.warehouse, batch_id, reason, getpass.getuser())
    except QuarantineError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"dropped {batch_id}: {count} records rejected ({reason})")
