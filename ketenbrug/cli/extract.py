"""`ketenbrug extract`: what a municipality runs on what it received from the hub.

`open` verifies, decrypts and writes a handover package's files; `verify-billing` checks
a billing statement folder. Both need only the files received and the recipient's own
key, not a hub: the hub's public key comes with every delivery (`hub-signing.pub` in the
recipient's outbox folder), and the fingerprint printed is what to compare with the one
the hub gave out of band.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ketenbrug.cli.conventions import HubGroup

HUB_KEY_OPTION = click.option(
    "--hub-key", "hub_key_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The hub's Ed25519 public key, raw 32 bytes [default: hub-signing.pub beside what "
         "was received, or beside the key].")
CSV_FORMS = ("rfc4180", "semicolon")


@click.group(cls=HubGroup)
def extract() -> None:
    """Packages and billing statements as a recipient sees them."""


@extract.command("open")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The recipient's X25519 private key (raw 32 bytes).")
@HUB_KEY_OPTION
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the data files to [default: ./<package name> in the "
                   "current folder]; refused inside a hub's home.")
@click.option("--recipient", "recipient_id",
              help="Who you are, e.g. GM0363 [default: the key file's name, "
                   "recipients/GM0363.key -> GM0363].")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where the newest package opened per purpose is remembered, to refuse "
                   "replays [default: <key>.opened.json beside the key].")
@click.option("--csv", "csv_form", type=click.Choice(CSV_FORMS), default="rfc4180",
              show_default=True,
              help="rfc4180: comma, CRLF, as sealed; semicolon: ';' and a UTF-8 BOM, for a "
                   "spreadsheet whose list separator is ';'.")
@click.option("--json", "as_json", is_flag=True, help="Print what was verified and written "
                                                      "as one JSON object.")
def open_(package: Path, key_path: Path, hub_key_path: Path | None, out: Path | None,
          recipient_id: str | None, state_path: Path | None, csv_form: str,
          as_json: bool) -> None:
    """Verify signature and checksums, decrypt, and write the data files (0600).

    Refuses, exit 1, nothing written: a target folder inside a hub's home; a package that
    was altered, signed by anyone but the hub, addressed or signed for another recipient
    (re-addressed), older than one already opened for the same purpose (replayed), or of
    format v1; a key file of the wrong size, or a private one group or others can read.
    """
    from ketenbrug.delivery.hub_home import hub_folder_holding
    from ketenbrug.privacy import KeyMaterialError, PackageError, keep_witness, open_package
    from ketenbrug.privacy.csv_safe import semicolon_form
    from ketenbrug.privacy.hub_key import hub_key_fingerprint, load_hub_key
    from ketenbrug.privacy.opened_packages import OpenedPackages, default_state_path
    from ketenbrug.privacy.sealing import load_private_key

    target = (out or Path.cwd() / package.with_suffix("").name).expanduser().resolve()
    hub_folder = hub_folder_holding(target)
    if hub_folder is not None:
        raise click.ClickException(
            f"refused to write to {target}: it lies in the hub's folder {hub_folder}, where "
            "opened identities are a leak; give --out a folder of your own outside it")
    hub_key_path = hub_key_path or _find_hub_key(package.parent, key_path.parent,
                                                  key_path.parent.parent)
    replay = OpenedPackages(state_path or default_state_path(key_path))
    try:
        hub_key = load_hub_key(hub_key_path)
        opened = open_package(
            package.read_bytes(), recipient_id=recipient_id or key_path.stem,
            recipient_key=load_private_key(key_path), hub_key=hub_key)
        replay.check(opened)
        replay.remember(opened)  # before the files: the same package may always be reopened
    except (PackageError, KeyMaterialError) as exc:
        raise click.ClickException(f"refused {package.name}: {exc}") from None
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, data in opened.files.items():
        if csv_form == "semicolon" and name.endswith(".csv"):
            data = semicolon_form(data)
        _write_private(target / name, data)
    # Kept so the municipality can hand them back as a witness of the hub's disclosure
    # log (`ketenbrug audit verify --witness manifest.json`).
    witness = keep_witness(target, opened.manifest_bytes, opened.signature)
    manifest, fingerprint = opened.manifest, hub_key_fingerprint(hub_key)
    if as_json:
        click.echo(json.dumps({
            "package": str(package.resolve()), "recipient": manifest["recipient"],
            "verified": {"hub_key_file": str(hub_key_path.resolve()),
                         "hub_key_fingerprint": fingerprint, "signature": True,
                         "checksums": True, "addressed_to_you": True, "not_a_replay": True},
            **{k: manifest.get(k) for k in ("purpose", "legal_basis", "as_of_date",
                                            "generated_at", "row_count")},
            "written_to": str(target), "files": sorted(opened.files),
            "witness": [p.name for p in witness], "csv": csv_form,
        }, indent=2))
        return
    click.echo(f"verified: signed by the hub, for {manifest['recipient']}, "
               f"{manifest['row_count']} rows, checksums match")
    click.echo(f"hub key {hub_key_path}, fingerprint {fingerprint} (compare it with the one "
               "the hub gave you, not with a copy that came with the package)")
    click.echo(f"purpose {manifest['purpose']} ({manifest['legal_basis']}), "
               f"as of {manifest['as_of_date']}, generated {manifest['generated_at']}")
    form = "; CSV with ';' (checksums are of the sealed comma form)" \
        if csv_form == "semicolon" else ""
    click.echo(f"written to {target}: {', '.join(sorted(opened.files))}, "
               f"manifest.json + manifest.sig (a witness of the hub's disclosure log){form}")


@extract.command("verify-billing")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@HUB_KEY_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the verified statement's "
                                                      "manifest facts as one JSON object.")
def verify_billing(folder: Path, hub_key_path: Path | None, as_json: bool) -> None:
    """Check a billing statement folder (outbox/<CBS code>/billing/<YYYY-MM>/): the hub's
    signature over manifest.json, and each file's checksum.

    Refuses, exit 1: a folder without manifest.json and manifest.sig, a signature by
    another key, a file missing or altered, a hub key file of the wrong size.
    """
    from ketenbrug.delivery.billing_manifest import StatementError, verify_statement
    from ketenbrug.privacy import KeyMaterialError
    from ketenbrug.privacy.hub_key import hub_key_fingerprint, load_hub_key

    hub_key_path = hub_key_path or _find_hub_key(folder, folder.parent, folder.parent.parent)
    try:
        hub_key = load_hub_key(hub_key_path)
        manifest = verify_statement(folder, hub_key)
    except (StatementError, KeyMaterialError) as exc:
        raise click.ClickException(f"refused {folder}: {exc}") from None
    facts = {k: manifest.get(k) for k in ("recipient", "billing_month", "amount_eur",
                                          "agreement_ids", "supersedes", "generated_at")}
    fingerprint = hub_key_fingerprint(hub_key)
    if as_json:
        click.echo(json.dumps({"folder": str(folder.resolve()), **facts, "verified": {
            "hub_key_file": str(hub_key_path.resolve()), "hub_key_fingerprint": fingerprint,
            "signature": True, "checksums": True},
            "files": [f["file"] for f in manifest["files"]]}, indent=2))
        return
    click.echo(f"verified: billing statement of {facts['recipient']} for "
               f"{facts['billing_month']}, signed by the hub, {len(manifest['files'])} files, "
               "checksums match")
    click.echo(f"hub key {hub_key_path}, fingerprint {fingerprint}")
    correction = f"; a correction of manifest {facts['supersedes']}" if facts["supersedes"] else ""
    click.echo(f"total EUR {facts['amount_eur']}, agreements "
               f"{', '.join(facts['agreement_ids'] or [])}{correction}")


def _find_hub_key(*folders: Path) -> Path:
    from ketenbrug.privacy.hub_key import HUB_KEY_FILE

    for folder in folders:
        if (folder / HUB_KEY_FILE).is_file():
            return folder / HUB_KEY_FILE
    looked = ", ".join(dict.fromkeys(str(f.resolve()) for f in folders))
    raise click.ClickException(
        f"no {HUB_KEY_FILE} found in {looked}: the hub puts it beside your deliveries "
        f"(outbox/<your code>/{HUB_KEY_FILE}); give it with --hub-key and compare its "
        "fingerprint with the one the hub gave you")


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
