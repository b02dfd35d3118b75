"""`ketenbrug sources check`: can the hub reach, trust and be let in by each source system,
and does each offer the fields the hub is permitted to take — without landing anything.

Per source and dataset it reads the first page as a pull would (connectors' `probe`) and
keeps nothing: no batch, no cursor, no vault entry. It reports reachable, TLS (verified,
with or without a client certificate, or plain HTTP to this machine), authenticated, and
the required permitted fields no record on that page carried. Exit 1 when any source
fails one of them. Values are never printed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from urllib.parse import urlsplit

import click

from ketenbrug.cli.conventions import HubGroup
from ketenbrug.config import ConfigError, Settings
from ketenbrug.connectors import CONNECTORS, SOURCES, HttpSettings, SourceError


@dataclass
class SourceReport:
    slug: str
    tls: str
    reachable: str = "yes"
    authenticated: str = "yes"
    fields: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not any("missing" in f for f in self.fields)


@click.group(cls=HubGroup)
def sources() -> None:
    """The source systems the hub pulls from."""


@sources.command()
@click.option("--source", "only", type=click.Choice(SOURCES), multiple=True,
              help="Check only this source (repeatable); default: all five.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as a JSON list.")
def check(only: tuple[str, ...], as_json: bool) -> None:
    """Report per source: reachable, TLS valid, authenticated, permitted fields offered."""
    settings = Settings.load()
    configured = _http_settings(settings, only or SOURCES)
    reports = [_check(slug, http) for slug, http in configured.items()]
    if as_json:
        click.echo(json.dumps([{**asdict(r), "ok": r.ok} for r in reports], indent=2))
    for report in reports if not as_json else ():
        click.echo(f"{report.slug}: {'ok' if report.ok else 'FAILED'}")
        click.echo(f"  reachable      {report.reachable}")
        click.echo(f"  TLS            {report.tls}")
        click.echo(f"  authenticated  {report.authenticated}")
        for line in report.fields:
            click.echo(f"  fields         {line}")
        for error in report.errors:
            click.echo(f"  error          {error}")
    if not all(r.ok for r in reports):
        raise SystemExit(1)


def _http_settings(settings: Settings, slugs: tuple[str, ...]) -> dict[str, HttpSettings]:
    """Each source's connection as a run would make it, asked once (no retries)."""
    if settings.sources_file is not None:
        from ketenbrug.connectors.source_config import SourcesError, load_sources

        try:
            configured = load_sources(settings.sources_file, required=slugs)
        except SourcesError as error:
            raise ConfigError([f"{settings.sources_file}: {p}" for p in error.problems]) \
                from None
        return {slug: replace(configured[slug].settings, max_retries=0) for slug in slugs}
    found, missing = {}, []
    for slug in slugs:
        url, credential = settings.source(slug)
        if not url or not credential:
            missing.append(slug)
        else:
            found[slug] = HttpSettings(url.rstrip("/"), credential, max_retries=0)
    if missing:
        raise ConfigError([f"{slug}: no URL and credential configured (KETENBRUG_"
                           f"{slug.upper()}_URL, _CREDENTIAL, or a sources file)"
                           for slug in missing])
    return found


def _check(slug: str, http: HttpSettings) -> SourceReport:
    connector = CONNECTORS[slug](http)
    report = SourceReport(slug, _tls_kind(http))
    try:
        for dataset in connector.manifest:
            try:
                probe = connector.probe(dataset)
            except SourceError as error:
                _failed(report, error)
                return report
            if probe.records == 0:
                report.fields.append(f"{dataset}: no records on the first page to tell by")
            elif probe.fields_missing:
                report.fields.append(f"{dataset}: missing {', '.join(probe.fields_missing)} "
                                     f"(on none of {probe.records} records)")
            else:
                report.fields.append(f"{dataset}: every required permitted field offered "
                                     f"({probe.records} records read, none kept)")
    finally:
        connector.close()
    return report


def _failed(report: SourceReport, error: SourceError) -> None:
    report.errors.append(str(error))
    if error.reason in ("unreachable", "tls"):
        report.reachable = "no" if error.reason == "unreachable" else "yes"
        report.authenticated = "unknown"
        report.tls = "FAILED" if error.reason == "tls" else "unknown"
    elif error.reason == "refused":
        report.authenticated = "no"


def _tls_kind(http: HttpSettings) -> str:
    if urlsplit(http.base_url).scheme != "https":
        return "none: plain http (this machine only)"
    if http.tls is not None:
        return "verified, with client certificate (mutual TLS)"
    return "verified"
