"""`ketenbrug extract open`: what a municipality runs on a package it received."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.group()
def extract() -> None:
    """Packages as a recipient sees them."""


@extract.command("open")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path),
              help="The recipient's X25519 private key (raw 32 bytes).")
@click.option("--hub-key", "hub_key_path", type=click.Path(exists=True, path_type=Path),
              help="The hub's Ed25519 public key [default: hub-signing.pub beside the keys].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the data files to [default: next to the package].")
@click.option("--recipient", "recipient_id",
              help="Who you are, e.g. GM0363 [default: the key file's name, "
                   "recipients/GM0363.key -> GM0363].")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where the newest package opened per purpose is remembered, to refuse "
                   "replays [default: <key>.opened.json beside the key].")
def open_(package: Path, key_path: Path, hub_key_path: Path | None, out: Path | None,
          recipient_id: str | None, state_path: Path | None) -> None:
    """Verify signature and checksums, decrypt, and write the data files (0600).

    Refuses, exit 1, nothing written: a package that was altered, signed by anyone but
    the hub, addressed or signed for another recipient (re-addressed), older than one
    already opened for the same purpose (replayed), or of format v1; a private key file
    group or others can read.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from ketenbrug.privacy import KeyMaterialError, PackageError, keep_witness, open_package
    from ketenbrug.privacy.opened_packages import OpenedPackages, default_state_path
    from ketenbrug.privacy.sealing import load_private_key

    hub_key_path = hub_key_path or _default_hub_key(key_path)
    replay = OpenedPackages(state_path or default_state_path(key_path))
    try:
        opened = open_package(
            package.read_bytes(), recipient_id=recipient_id or key_path.stem,
            recipient_key=load_private_key(key_path),
            hub_key=Ed25519PublicKey.from_public_bytes(hub_key_path.read_bytes()))
        replay.check(opened)
        replay.remember(opened)  # before the files: the same package may always be reopened
    except (PackageError, KeyMaterialError) as exc:
        click.echo(f"refused {package.name}: {exc}", err=True)
        sys.exit(1)
    manifest = opened.manifest
    target = out or package.with_suffix("")
    target.mkdir(parents=True, exist_ok=True)
    for name, data in opened.files.items():
        path = target / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    # Kept so the municipality can hand them back as a witness of the hub's disclosure
    # log (`ketenbrug audit verify --witness manifest.json`).
    keep_witness(target, opened.manifest_bytes, opened.signature)
    click.echo(f"verified: signed by the hub, for {manifest['recipient']}, "
               f"{manifest['row_count']} rows, checksums match")
    click.echo(f"purpose {manifest['purpose']} ({manifest['legal_basis']}), "
               f"as of {manifest['as_of_date']}, generated {manifest['generated_at']}")
    click.echo(f"written to {target}: {', '.join(sorted(opened.files))}, "
               "manifest.json + manifest.sig (a witness of the hub's disclosure log)")


def _default_hub_key(key_path: Path) -> Path:
    for folder in (key_path.parent, key_path.parent.parent):
        candidate = folder / "hub-signing.pub"
        if candidate.exists():
            return candidate
    raise click.UsageError("give --hub-key: the hub's public signing key")
