"""`ketenbrug keys`: initialise, inspect and rotate the installation's master key."""

from __future__ import annotations

import json
import sys

import click

from ketenbrug.cli.access import wait_to_read, writing
from ketenbrug.cli.conventions import HubGroup
from ketenbrug.config import Settings


@click.group(cls=HubGroup)
def keys() -> None:
    """Master keys under KETENBRUG_KEYS_DIR (default var/keys): never printed, never committed."""


@keys.command()
def init() -> None:
    """Create key version 1 if there is no key yet."""
    from ketenbrug.privacy import KeyStore

    settings = Settings.from_env()
    keyring = KeyStore(settings.keys_dir).init()
    click.echo(f"key version {keyring.version} ready under {settings.keys_dir} (0600)")


@keys.command()
@click.option("--json", "as_json", is_flag=True, help="Print the key status as JSON.")
def status(as_json: bool) -> None:
    """Key versions, each one's check value, and whether vault and warehouse agree.

    Exits 1 on a key whose check value differs from the one recorded beside it or in
    the vault (the key file was replaced), naming it, and, naming the step to resume,
    when a rotation was interrupted.
    """
    from ketenbrug.privacy import KeyStore, linkage_state
    from ketenbrug.privacy.vault import key_check_problems

    settings = Settings.from_env()
    wait_to_read(settings)
    store = KeyStore(settings.keys_dir)
    versions = store.status()
    if not versions:
        click.echo(f"no keys under {settings.keys_dir}: run `ketenbrug keys init`", err=True)
        sys.exit(1)
    problems = key_check_problems(store, settings.vault)
    if as_json:
        state = linkage_state(store, settings.vault, settings.warehouse)
        click.echo(json.dumps({
            "versions": [{"version": i.version, "current": i.is_current,
                          "created_at": str(i.created_at), "check_ok": i.version not in problems}
                         for i in versions],
            "problems": list(problems.values()), "vault_under": list(state.vault),
            "warehouse_under": list(state.warehouse), "rotation_finished": state.consistent},
            indent=2, sort_keys=True))
        sys.exit(1 if problems or not state.consistent else 0)
    for info in versions:
        marker = "current" if info.is_current else "history"
        click.echo(f"  v{info.version}  {marker:<8} created {info.created_at}  "
                   f"check {'MISMATCH' if info.version in problems else 'ok'}")
    if problems:
        for problem in problems.values():
            click.echo(problem, err=True)
        sys.exit(1)
    state = linkage_state(store, settings.vault, settings.warehouse)
    click.echo(f"vault values under: {', '.join(f'v{v}' for v in state.vault) or 'none yet'}")
    click.echo("warehouse pseudonyms under: "
               f"{', '.join(f'v{v}' for v in state.warehouse) or 'none yet'}")
    if not state.consistent:
        behind = state.vault and max(state.vault) < (state.current_key or 0)
        step = "reseal the vault" if behind else "relink the warehouse"
        click.echo(f"an interrupted rotation ({state.describe()}): run `ketenbrug keys "
                   f"rotate` to {step} and finish it", err=True)
        sys.exit(1)


@keys.command()
def rotate() -> None:
    """Make a new key version current and carry the vault and warehouse over to it."""
    from ketenbrug.privacy import KeyStore, rotate_keys

    settings = Settings.from_env()
    with writing(settings, "key rotation"):
        report = rotate_keys(KeyStore(settings.keys_dir), settings.vault, settings.warehouse)
    click.echo(f"rotated v{report.from_version} -> v{report.to_version}: "
               f"{report.persons_relinked} persons relinked, "
               f"{report.values_resealed} vault values resealed")
    for table, rows in sorted(report.warehouse_rows_relinked.items()):
        click.echo(f"  {table:<36} {rows} rows")
    click.echo("run the hub (`make demo` or the `hub` job) to rebuild the marts on the new key")
