"""`ketenbrug privacy scan`: the leak guard over everything the hub wrote."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ketenbrug.cli.access import wait_to_read
from ketenbrug.cli.conventions import HubGroup, as_of_option
from ketenbrug.config import Settings
from ketenbrug.databases import exists
from ketenbrug.project_files import DBT_PROJECT_DIR

if TYPE_CHECKING:
    from ketenbrug.privacy.leak_scan import DetectorReport

WORLD_FILE = "world.json"  # the demo's world parameters (never identities)


@click.group(cls=HubGroup)
def privacy() -> None:
    """Privacy officer's checks."""


@privacy.command()
@click.option("--clients", type=int, help="World size (default: the last demo's).")
@click.option("--seed", type=int, help="World seed (default: the last demo's).")
@as_of_option("World date YYYY-MM-DD [default: the last demo's].")
@click.option("--json", "as_json", is_flag=True,
              help="Print leaks and warnings as one JSON document (progress to stderr).")
def scan(clients: int | None, seed: int | None, as_of: date | None, as_json: bool) -> None:
    """Fail on any identity outside the vault and the sealed packages.

    Scans every warehouse table, the Dagster run and event storage, the logs and every
    unsealed file under the hub's home and the dbt project's artefacts, with the identity
    detectors and the vault (a vault person's BSN anywhere, any identity in a landed
    free-text column: leaks; a valid-looking BSN or an IBAN elsewhere: warnings). On a
    home that ran the demo it also looks for the synthetic world's own identities.
    Refuses --clients or --seed without the other.
    """
    from ketenbrug.privacy.leak_scan import TruthIndex, scan_files, scan_warehouse

    settings = Settings.from_env()
    wait_to_read(settings)
    recorded = recorded_world(settings)
    params: dict[str, Any] = {
        "clients": clients or recorded.get("clients"), "seed": seed or recorded.get("seed"),
        "today": as_of.isoformat() if as_of else recorded.get("today")}
    if bool(params["clients"]) != bool(params["seed"]):
        raise click.UsageError("give both --clients and --seed, or neither")
    roots = list(dict.fromkeys([settings.home, settings.dagster_home, DBT_PROJECT_DIR / "logs",
                                DBT_PROJECT_DIR / "target"]))
    # The databases' own files, when they are files; what they hold is scanned as tables.
    skip = [t for t in (settings.vault, settings.warehouse) if isinstance(t, Path)]
    hits = []
    if params["clients"]:
        from ketenbrug.simulators import generate_world

        world = generate_world(
            clients=params["clients"], seed=params["seed"],
            today=date.fromisoformat(params["today"]) if params["today"] else None)
        truth = TruthIndex(world.persons)
        hits += scan_files(roots, truth, skip=skip)
        if exists(settings.warehouse):
            hits += scan_warehouse(settings.warehouse, truth)
        click.echo(f"scanned for {len(world.persons)} synthetic identities "
                   f"(clients {params['clients']}, seed {params['seed']})", err=as_json)
    report = _detector_scan(settings, roots, skip, say_to_stderr=as_json)
    hits += report.leaks
    if as_json:
        click.echo(json.dumps({"leaks": [h.describe() for h in hits],
                               "warnings": [h.describe() for h in report.warnings]},
                              indent=2))
        sys.exit(1 if hits else 0)
    for hit in hits:
        click.echo(f"  LEAK {hit.describe()}", err=True)
    for hit in report.warnings:
        click.echo(f"  warning {hit.describe()}", err=True)
    click.echo(f"{len(report.warnings)} warning(s): valid-looking BSNs or IBANs outside "
               "free text, not confirmed by the vault")
    click.echo(f"{len(hits)} leak(s) outside the vault and sealed packages")
    sys.exit(1 if hits else 0)


def _detector_scan(settings: Settings, roots: list[Path], skip: list[Path],
                   say_to_stderr: bool = False) -> DetectorReport:
    """The scan that needs no ground truth: identity detectors and the vault look-up."""
    from ketenbrug.connectors import all_datasets
    from ketenbrug.privacy import INTERNAL_DOMAIN, IdentityVault, KeyStore, Pseudonymiser
    from ketenbrug.privacy.identity_detection import KnownBsns
    from ketenbrug.privacy.leak_scan import DetectorScan

    keys = KeyStore(settings.keys_dir)
    if exists(settings.vault) and keys.versions():
        known = KnownBsns(Pseudonymiser(keys.current(), INTERNAL_DOMAIN),
                          IdentityVault(settings.vault, keys))
        click.echo(f"scanned with the identity detectors and the vault ({settings.vault})",
                   err=say_to_stderr)
    else:
        known = KnownBsns(None, None)
        click.echo("scanned with the identity detectors (no vault: no BSN look-up)",
                   err=say_to_stderr)
    free_text = {f"landing.{d.table}.{f.name}": f.mailbox_roles
                 for d in all_datasets() for f in d.fields if f.form == "free_text"}
    scanner = DetectorScan(known, free_text)
    scanner.add_files(roots, skip=skip)
    if exists(settings.warehouse):
        scanner.add_warehouse(settings.warehouse)
    return scanner.report()


def record_world(settings: Settings, clients: int, seed: int, today: date) -> None:
    """Remember which world the demo ran, so `privacy scan` can rebuild its ground truth."""
    (settings.home / WORLD_FILE).write_text(
        json.dumps({"clients": clients, "seed": seed, "today": today.isoformat()}))


def recorded_world(settings: Settings) -> dict:
    """The world this home holds (clients, seed, today), or {} before the first demo."""
    path = settings.home / WORLD_FILE
    return json.loads(path.read_text()) if path.exists() else {}
