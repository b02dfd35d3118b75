"""`ketenbrug config show | check | example`: the effective configuration, for the steward."""

from __future__ import annotations

import json
import sys

import click

from ketenbrug.cli.conventions import HubGroup
from ketenbrug.config import Settings, example_env


@click.group(cls=HubGroup)
def config() -> None:
    """The hub's configuration: environment over ketenbrug.yaml over the defaults."""


@config.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print {setting: {value, origin}} as one JSON document.")
def show(as_json: bool) -> None:
    """Print every setting's effective value and where it came from; secrets masked."""
    settings = Settings.load()
    rows = settings.shown()
    if as_json:
        click.echo(json.dumps({name: {"value": value, "origin": origin}
                               for name, value, origin in rows}, indent=2, sort_keys=True))
        return
    width = max(len(name) for name, _, _ in rows)
    click.echo(f"profile {settings.profile}: warehouse {settings.warehouse}, "
               f"vault {settings.vault}")
    for name, value, origin in rows:
        click.echo(f"{name:<{width}}  {value or '(empty)'}  [{origin}]")


@config.command()
@click.option("--sources/--no-sources", default=True, show_default=True,
              help="Also require every source system's URL and credential (a run needs them).")
def check(sources: bool) -> None:
    """Validate the configuration as a run would; exit 1 naming every problem."""
    settings = Settings.load()
    if sources:
        settings.require_sources()
    click.echo(f"configuration ok: profile {settings.profile}, executor {settings.executor}")


@config.command()
def example() -> None:
    """Print .env.example: every setting with its default."""
    sys.stdout.write(example_env())
