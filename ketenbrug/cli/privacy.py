"""`ketenbrug privacy scan`: the leak guard over everything the hub wrote."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import click

from ketenbrug.cli.access import wait_to_read
from ketenbrug.config import Settings
from ketenbrug.project_files import DBT_PROJECT_DIR

WORLD_FILE = "world.json"  # the demo's world parameters (never identities)


@click.group()
def privacy() -> None:
    """Privacy officer's checks."""


@privacy.command()
@click.option("--clients", type=int, help="World size (default: the last demo's).")
@click.option("--seed", type=int, help="World seed (default: the last demo's).")
@click.option("--today", help="World date YYYY-MM-DD (default: the last demo's).")
def scan(clients: int | None, seed: int | None, today: str | None) -> None:
    """Fail on any synthetic identity outside the vault and the sealed packages.

    Scans every warehouse table, the Dagster run and event storage, the logs and every
    unsealed file under the hub's home and the dbt project's artefacts.
    """
    from ketenbrug.privacy.leak_scan import TruthIndex, scan_files, scan_warehouse
    from ketenbrug.simulators import generate_world

    settings = Settings.from_env()
    wait_to_read(settings)
    recorded = recorded_world(settings)
    params: dict[str, Any] = {
        "clients": clients or recorded.get("clients"), "seed": seed or recorded.get("seed"),
        "today": today or recorded.get("today")}
    if not params["clients"] or not params["seed"]:
        raise click.UsageError("no demo world recorded: give --clients and --seed")
    world = generate_world(clients=params["clients"], seed=params["seed"],
                           today=date.fromisoformat(params["today"]) if params["today"] else None)
    truth = TruthIndex(world.persons)
    roots = [settings.home, settings.dagster_home, DBT_PROJECT_DIR / "logs",
             DBT_PROJECT_DIR / "target"]
    hits = scan_files(dict.fromkeys(roots), truth,
                      skip=[settings.vault_path, settings.warehouse_path])
    if settings.warehouse_path.exists():
        hits += scan_warehouse(settings.warehouse_path, truth)
    click.echo(f"scanned for {len(world.persons)} synthetic identities "
               f"(clients {params['clients']}, seed {params['seed']})")
    for hit in hits:
        click.echo(f"  LEAK {hit.describe()}", err=True)
    click.echo(f"{len(hits)} leak(s) outside the vault and sealed packages")
    sys.exit(1 if hits else 0)


def record_world(settings: Settings, clients: int, seed: int, today: date) -> None:
    """Remember which world the demo ran, so `privacy scan` can rebuild its ground truth."""
    (settings.home / WORLD_FILE).write_text(
        json.dumps({"clients": clients, "seed": seed, "today": today.isoformat()}))


def recorded_world(settings: Settings) -> dict:
    """The world this home holds (clients, seed, today), or {} before the first demo."""
    path = settings.home / WORLD_FILE
    return json.loads(path.read_text()) if path.exists() else {}
