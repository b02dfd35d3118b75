"""`ketenbrug audit ...`: the privacy officer's reports, built from the hub's own records.

    ketenbrug audit verify [--witness F]          the disclosure log: chain, checkpoints
    ketenbrug audit subject --bsn N               GDPR art. 15: all held on one person
    ketenbrug audit lineage [--out PATH] [--json] HTML lineage report and SVG diagram
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
from ketenbrug.cli.conventions import HubGroup
from ketenbrug.config import Settings
from ketenbrug.privacy.disclosure_log import LogLocation


@click.group(cls=HubGroup)
def audit() -> None:
    """Privacy officer's reports: the disclosure log, subject access, lineage, register,
    OpenLineage export."""


@audit.command()
@click.option("--hub-key", "hub_key_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The hub's Ed25519 public key [default: hub-signing.pub in the keys folder].")
@click.option("--witness", "witnesses", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A recipient's manifest.json (manifest.sig beside it) or .kbpkg package; "
                   "the log must still hold its head and delivery. Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON document.")
def verify(hub_key_path: Path | None, witnesses: tuple[Path, ...], as_json: bool) -> None:
    """Check the disclosure log: its hash chain, its signed checkpoints, and witnesses.

    One line per problem, naming line or seq and the tampering it indicates: an entry
    altered, removed or moved; the log cut, emptied, deleted or rewritten below a
    checkpoint; checkpoints deleted or forged; a witness's head or delivery gone.
    Exit 0 only when everything holds. Entries after the last checkpoint are counted:
    without a witness they could be cut unnoticed.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from ketenbrug.privacy.log_audit import verify_audit

    settings = Settings.from_env()
    wait_to_read(settings)
    log = settings.disclosure_log
    key_path = hub_key_path or settings.keys_dir / "hub-signing.pub"
    hub_key = (Ed25519PublicKey.from_public_bytes(key_path.read_bytes())
               if key_path.exists() else None)
    verdict = verify_audit(log, hub_key, witnesses)
    if as_json:
        click.echo(json.dumps({
            "log": str(log), "intact": verdict.intact, "entries": verdict.entries,
            "checkpoints": verdict.checkpoints, "checkpointed_seq": verdict.checkpointed_seq,
            "not_checkpointed": verdict.not_checkpointed, "witnesses": len(witnesses),
            "problems": [str(p) for p in verdict.problems]}, indent=2, sort_keys=True))
        sys.exit(0 if verdict.intact else 1)
    for problem in verdict.problems:
        click.echo(str(problem), err=True)
    fixed = verdict.checkpointed_seq
    click.echo(f"{log}: {verdict.entries} entries, {verdict.checkpoints} checkpoints"
               + (f" (signed up to seq {fixed})" if fixed else "") + ", "
               + ("chain intact" if verdict.intact else f"{len(verdict.problems)} problem(s)"))
    click.echo(f"not yet checkpointed: {verdict.not_checkpointed} entries"
               + (" (these could be cut unnoticed without a recipient's witness)"
                  if verdict.not_checkpointed else ""))
    if witnesses:
        click.echo(f"{len(witnesses)} witness(es) checked")
    sys.exit(0 if verdict.intact else 1)


@audit.command()
@click.option("--bsn", required=True,
              help="The data subject's BSN (GDPR art. 15 request); spaces or dots between "
                   "digit groups are fine (123 456 782, 1234.56.782).")
def subject(bsn: str) -> None:
    """Everything the hub holds about one person, and every disclosure of it, as JSON.

    The output holds that person's identity: it goes to standard output only, and the
    request itself is logged. Of each disclosure it says what went to whom, when and why,
    and how many persons it held - never who the others were.
    """
    from ketenbrug.audit.subject_access import subject_report
    from ketenbrug.privacy.actor import acting_as, cli_actor

    settings = Settings.from_env()
    wait_to_read(settings)
    try:
        with acting_as(cli_actor("privacy_officer")):
            report = subject_report(bsn, settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    damaged = report["disclosure_log_damaged_lines"]
    if damaged:
        click.echo(f"warning: the disclosure log's lines {', '.join(map(str, damaged))} are "
                   "damaged; the disclosures listed may be incomplete (see `audit verify`)",
                   err=True)
    click.echo(json.dumps(report, indent=2, default=str, sort_keys=True))


def _log_or_none(settings: Settings) -> LogLocation | None:
    return settings.disclosure_log if settings.disclosure_log.exists() else None


@audit.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the HTML (default: $KETENBRUG_HOME/reports/lineage.html); "
                   "the SVG diagram goes beside it, with the suffix .svg.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON summary (paths written; per output its recipients with "
                   "distinct persons and deliveries) instead of the paths.")
def lineage(out: Path | None, as_json: bool) -> None:
    """Write the lineage report (one self-contained HTML page) and its diagram (SVG),
    and print both paths.

    For each mart and delivery: source datasets and fields, legal bases, purposes,
    contract versions, entitled recipients and, from the disclosure log, the actual
    ones with the distinct persons each received and in how many deliveries.
    """
    from ketenbrug.audit.graph import load_dbt_manifest
    from ketenbrug.audit.lineage_summary import lineage_summary
    from ketenbrug.audit.lineage_svg import write_svg
    from ketenbrug.audit.provenance import build_lineage
    from ketenbrug.audit.provenance_html import write_html
    from ketenbrug.pipelines.asset_graph import asset_parents

    settings = Settings.from_env()
    html_path = out or settings.home / "reports" / "lineage.html"
    svg_path = html_path.with_suffix(".svg")
    if svg_path == html_path:
        raise click.ClickException(f"--out {html_path} is where the diagram would go; "
                                   "give the HTML report another suffix (.html)")
    wait_to_read(settings)
    manifest, compiled = load_dbt_manifest(settings.warehouse, settings.home)
    report = build_lineage(asset_parents(), manifest, compiled=compiled,
                           disclosure_log=_log_or_none(settings))
    written = write_html(report, html_path), write_svg(report, svg_path)
    if as_json:
        click.echo(json.dumps(lineage_summary(report, *written), indent=2))
    else:
        for path in written:
            click.echo(path)


@audit.command()
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of printing.")
def register(fmt: str, out: Path | None) -> None:
    """Print (or write) the record of processing activities (GDPR Article 30(1))."""
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
    manifest, compiled = load_dbt_manifest(settings.warehouse, settings.home)
    path = out or settings.home / "reports" / "openlineage.jsonl"
    count = write_events(build_events(materialisations, asset_parents(), manifest,
                                      _log_or_none(settings), compiled=compiled), path)
    click.echo(f"{count} events for {len(materialisations)} materialisations -> {path}")
