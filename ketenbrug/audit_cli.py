"""`ketenbrug audit ...`: the privacy officer's reports, built from the hub's own records.

    ketenbrug audit lineage [--out PATH]          HTML lineage report per output
    ketenbrug audit register [--format md|json] [--out PATH]   GDPR art. 30 record
    ketenbrug audit openlineage [--out PATH]      OpenLineage events as JSON lines

Heavy imports (Dagster, dbt) happen inside the commands, so `ketenbrug --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from ketenbrug.settings import Settings


@click.group()
def audit() -> None:
    """Privacy officer's reports: lineage, processing register, OpenLineage export."""


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
    from pipelines.audit.graph import asset_parents, load_dbt_manifest
    from pipelines.audit.lineage_html import write_html
    from pipelines.audit.lineage_report import build_lineage

    settings = Settings.from_env()
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
    from pipelines.audit.register import build_register, register_json, register_markdown

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
    from pipelines.audit.graph import asset_parents, load_dbt_manifest
    from pipelines.audit.openlineage_export import (
        build_events,
        read_materialisations,
        write_events,
    )

    settings = Settings.from_env()
    try:
        materialisations = read_materialisations(settings.dagster_home)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from error
    manifest, compiled = load_dbt_manifest(settings.warehouse_path)
    path = out or settings.home / "reports" / "openlineage.jsonl"
    count = write_events(build_events(materialisations, asset_parents(), manifest,
                                      _log_or_none(settings), compiled=compiled), path)
    click.echo(f"{count} events for {len(materialisations)} materialisations -> {path}")
