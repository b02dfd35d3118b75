"""`ketenbrug audit verify|subject` and `ketenbrug profiles show`: the disclosure trail."""

from __future__ import annotations

import json
import sys

import click

from ketenbrug.settings import Settings


@click.command()
def verify() -> None:
    """Check the disclosure log's hash chain; name every altered, removed or moved entry."""
    from privacy import read_log, verify_log

    log = Settings.from_env().disclosure_log
    breaks = verify_log(log)
    for b in breaks:
        click.echo(f"line {b.line}: {b.reason}", err=True)
    entries = len(read_log(log))
    click.echo(f"{log}: {entries} entries, " + ("chain intact" if not breaks
                                                 else f"{len(breaks)} break(s)"))
    sys.exit(1 if breaks else 0)


@click.command()
@click.option("--bsn", required=True, help="The data subject's BSN (GDPR art. 15 request).")
def subject(bsn: str) -> None:
    """Everything the hub holds about one person, and every disclosure of it, as JSON.

    The output holds that person's identity: it goes to standard output only, and the
    request itself is logged.
    """
    from pipelines.subject_access import subject_report

    settings = Settings.from_env()
    try:
        report = subject_report(bsn, settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(report, indent=2, default=str, sort_keys=True))


@click.group()
def profiles() -> None:
    """Client profiles as a probation officer reads them (every read is logged)."""


@profiles.command()
@click.option("--org", required=True, type=click.Choice(["RN", "SVG", "LJR"]),
              help="Your probation organisation: you see its clients only.")
@click.option("--client", "client_pseudonym", help="One client's pseudonym.")
@click.option("--limit", default=20, show_default=True)
def show(org: str, client_pseudonym: str | None, limit: int) -> None:
    """Print the organisation's client profiles (pseudonymised)."""
    from pipelines.profile_reads import read_profiles
    from privacy import PseudonymError

    try:
        rows = read_profiles(Settings.from_env(), org, client_pseudonym, limit)
    except PseudonymError as refused:
        raise click.ClickException(str(refused)) from None
    if client_pseudonym and rows and rows[0]["client_pseudonym"] != client_pseudonym:
        click.echo(f"{client_pseudonym} predates a key rotation; this client is now "
                   f"{rows[0]['client_pseudonym']}", err=True)
    for row in rows:
        click.echo(json.dumps(row, default=str, sort_keys=True))
    click.echo(f"{len(rows)} profile(s) of {org} (this read is in the disclosure log)", err=True)
