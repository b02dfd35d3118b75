"""`ketenbrug contracts`: validate contracts and tell breaking changes between versions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from ketenbrug import yaml_files
from ketenbrug.cli.conventions import HubGroup


@click.group(cls=HubGroup)
def contracts() -> None:
    """ODCS v3 data contracts under contracts/."""


@contracts.command()
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--against", "old", help="Old version: a file, or git:<rev> for the same file "
              "at that revision (default git:HEAD).", default="git:HEAD", show_default=True)
def diff(new: Path, old: str) -> None:
    """Compare NEW with an older version; exit 1 when a change breaks consumers."""
    from ketenbrug.contracts.compat import compare
    from ketenbrug.contracts.odcs import ContractError, validate_document

    new_doc = yaml_files.safe_load(new.read_text())
    old_doc = yaml_files.safe_load(_old_text(new, old))
    try:
        validate_document(new_doc, str(new))
    except ContractError as exc:
        raise click.ClickException(str(exc)) from None
    changes = compare(old_doc, new_doc)
    for change in changes:
        click.echo(change.describe())
    broken = [c for c in changes if c.breaking]
    click.echo(f"{len(changes)} change(s), {len(broken)} breaking"
               + (": bump the major version and tell the consumers" if broken else ""))
    sys.exit(1 if broken else 0)


def _old_text(new: Path, old: str) -> str:
    if not old.startswith("git:"):
        return Path(old).read_text()
    # The repository the contract file is in, wherever the hub itself is installed.
    folder = new.resolve().parent
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder,
                         capture_output=True, text=True, check=False)
    if top.returncode != 0:
        raise click.ClickException(f"{new} is not in a git repository: give --against FILE")
    root = Path(top.stdout.strip())
    relative = new.resolve().relative_to(root)
    shown = subprocess.run(["git", "show", f"{old[4:]}:{relative}"], cwd=root,
                           capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        raise click.ClickException(f"no {relative} at {old[4:]}: {shown.stderr.strip()}")
    return shown.stdout
