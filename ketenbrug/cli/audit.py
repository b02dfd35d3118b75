"""`ketenbrug audit ...`: the privacy officer's reports, built from the hub's own records.

    ketenbrug audit verify                        the disclosure log's hash chain
    ketenbrug audit subject --bsn N               GDPR art. 15: all held on one person
    ketenbrug audit lineage [--out PATH]          HTML lineage report per output
    ketenbrug audit register [--format md|json] [--out PATH]   GDPR art. 30 record
    ketenbrug audit openlineage [--out PATH]      OpenLineage events as JSON lines

Heavy imports (Dagster, dbt) happen inside the commands, so `ketenbrug --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ketenbrug.cli.access import wait_to_read
from ketenbrug.config import Settings


@click.group()
def audit() -> None:
    """Privacy officer's reports: the disclosure log, subject access, lineage, register,
    OpenLineage export."""


@audit.command()
def verify() -> None:
    """Check the disclosure log's hash chain; name every altered, removed or moved entry."""
    from ketenbrug.privacy import read_log, verify_log

    settings = Settings.from_env()
    wait_to_read(settings)
    log = settings.disclosure_log
    breaks = verify_log(log)
    for b in breaks:
        click.echo(f"line {b.line}: {b.reason}", err=True)
    entries = len(read_log(log))
    click.echo(f"{log}: {entries} entries, " + ("chain intact" if not breaks
                                                 else f"{len(breaks)} break(s)"))
    sys.exit(1 if breaks else 0)


@audit.command()
@click.option("--bsn", required=True, help="The data subject's BSN (GDPR art. 15 request).")
def subject(bsn: str) -> None:
    """Everything the hub holds about one person, and every disclosure of it, as JSON.

    The output holds that person's identity: it goes to standard output only, and the
    request itself is logged.
    """
    from ketenbrug.audit.subject_access import subject_report

    settings = Settings.from_env()
    wait_to_read(settings)
    try:
        report = subject_report(bsn, settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(report, indent=2, default=str, sort_keys=True))


def _log_or_none(settings: Settings) -> Path | None:
    return settings.disclosure_log if settings.disclosure_log.exists() else None


@audit.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the HTML (default: $KETENBRUG_HOME/reports/lineage.html).")
def lineage(out: Path | None) -> None:
    """Write the lineage report (one self-contained HTML page) and print its path.

    For each mart and delivery: source datasets and fields, legal bases, purposes,
    contract versions, entitled recipients and, from the disclosure log, actual ones.
    """
    from ketenbrug.audit.graph import load_dbt_manifest
    from ketenbrug.audit.provenance import build_lineage
    from ketenbrug.audit.provenance_html import write_html
    from ketenbrug.pipelines.asset_graph import asset_parents

    settings = Settings.from_env()
    wait_to_read(settings)
    manifest, compiled = load_dbt_manifest(settings.warehouse_path)
    report = build_lineage(asset_parents(), manifest, compiled=compiled,
                           disclosure_log=_log_or_none(settings))
    click.echo(write_html(report, out or settings.home / "reports" / "lineage.html"))


@audit.command()
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of printing.")
def register(fmt: str, out: Path | None) -> None:
    """Print (or write) the GDPR art. 30(1) record of processing activities."""
    from ketenbrug.audit.register import build_register, register_json, register_markdown

    activities = build_register()
    text = register_json(activities) if fmt == "json" else register_markdown(activities)
    if out is None:
        click.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    click.echo(out)


@audit.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON-lines file (default: $KETENBRUG_HOME/reports/openlineage.jsonl).")
def openlineage(out: Path | None) -> None:
    """Export START/COMPLETE (or FAIL) OpenLineage events for every materialisation in
    the Dagster instance, with the `ketenbrug_purpose` facet; no network transport."""
    from ketenbrug.audit.graph import load_dbt_manifest
    from ketenbrug.audit.openlineage.export import (
        build_events,
        read_materialisations,
        write_events,
    )
    from ketenbrug.pipelines.asset_graph import asset_parents

    settings = Settings.from_env()
    wait_to_read(settings)
    try:
        materialisations = read_materialisations(settings.dagster_home)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from error
    manifest, compiled = load_dbt_manifest(settings.warehouse_path)
    path = out or settings.home / "reports" / "openlineage.jsonl"
    count = write_events(build_events(materialisations, asset_parents(), manifest,
                                      _log_or_none(settings), compiled=compiled), path)
    click.echo(f"{count} events for {len(materialisations)} materialisations -> {path}")
