"""Tampering with the disclosure log, its checkpoints and recipients' witnesses.

Each attempt is something an insider with file access could do to hide a disclosure;
`ketenbrug audit verify` must exit 1 and name what it found. The ids read as the attempts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ketenbrug.cli.audit import audit
from ketenbrug.delivery.handover_package import handover_manifest
from ketenbrug.privacy import (
    FileModeError,
    append_entry,
    checkpoint_log,
    keep_witness,
    log_head,
    open_package,
    read_log,
    seal_package,
)
from ketenbrug.privacy.checkpoints import Checkpoint, LogTampered, checkpoints_path
from ketenbrug.privacy.disclosure_log import GENESIS, entry_hash
from ketenbrug.privacy.sealing import hub_key_id, load_or_create_signing_key

CODE = "GM0363"


class Hub:
    """A hub home after two runs: run 1 checkpointed, run 2's delivery after it."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.keys = home / "keys"
        self.log = home / "audit" / "disclosures.jsonl"
        self.signing_key = load_or_create_signing_key(self.keys)
        self.recipient_key = X25519PrivateKey.generate()
        append_entry(self.log, {"event": "reidentification", "run_id": "run-1"})  # seq 1
        self.package_1, self.witness_1 = self._deliver("run-1")  # delivery: seq 2
        self.billing = self._bill()  # seq 3
        checkpoint_log(self.log, self.signing_key)  # signs seq 3, its mark is seq 4
        append_entry(self.log, {"event": "reidentification", "run_id": "run-2"})  # seq 5
        self.package_2, self.witness_2 = self._deliver("run-2")  # delivery: seq 6
        append_entry(self.log, {"event": "profile_read", "persons": 3})  # seq 7

    def _deliver(self, run_id: str) -> tuple[Path, Path]:
        manifest = handover_manifest(
            purpose="warm_handover", legal_basis="Pm art. 20d", as_of="2026-03-01", rows=1,
            run_id=run_id, key_version=1, source_datasets=(), source_as_of={},
            log_head=log_head(self.log))
        blob = seal_package({"warm_handover.csv": b"a,b\n"}, manifest, recipient_id=CODE,
                            recipient_key=self.recipient_key.public_key(),
                            signing_key=self.signing_key)
        package = self.home / "outbox" / CODE / f"{run_id}.kbpkg"
        package.parent.mkdir(parents=True, exist_ok=True)
        package.write_bytes(blob)
        append_entry(self.log, {"event": "delivery", "recipient": f"municipality:{CODE}",
                                "purpose": "warm_handover", "run_id": run_id,
                                "package_sha256": hashlib.sha256(blob).hexdigest()})
        opened = open_package(blob, recipient_id=CODE, recipient_key=self.recipient_key,
                              hub_key=self.signing_key.public_key())
        folder = self.home / "recipient" / run_id
        folder.mkdir(parents=True)
        keep_witness(folder, opened.manifest_bytes, opened.signature)
        return package, folder / "manifest.json"

    def _bill(self) -> Path:
        manifest = {"recipient": CODE, "purpose": "municipal_billing", "files": [],
                    "log_head": log_head(self.log)}
        data = (json.dumps(manifest, indent=2) + "\n").encode()
        path = self.home / "outbox" / CODE / "billing" / "manifest.json"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        append_entry(self.log, {"event": "delivery", "recipient": f"municipality:{CODE}",
                                "purpose": "municipal_billing",
                                "manifest_sha256": hashlib.sha256(data).hexdigest()})
        return path

    # What an insider does with the files -------------------------------------------

    def entries(self) -> list[dict]:
        return read_log(self.log)

    def write(self, entries: list[dict], *, recompute: bool = False,
              resign: Ed25519PrivateKey | None = None, key_id: str | None = None) -> None:
        """Write `entries` as the log; `recompute` renumbers and re-hashes the chain (no
        secret needed), `resign` also replaces every checkpoint with one by that key."""
        prev, forged = {"seq": 0, "hash": GENESIS}, []
        for seq, entry in enumerate(entries, start=1):
            if recompute:
                entry.update(seq=seq, prev_hash=prev["hash"])
            if resign and entry.get("event") == "checkpoint":
                cp = Checkpoint(seq=prev["seq"], hash=prev["hash"], at="2026-01-01T00:00:00",
                                key_id=key_id or hub_key_id(resign.public_key()), signature="")
                cp = replace(cp, signature=resign.sign(cp.signed_bytes()).hex())
                entry["checkpoint"] = asdict(cp)
                forged.append(json.dumps(asdict(cp), sort_keys=True) + "\n")
            if recompute:
                entry["hash"] = entry_hash(entry)
            prev = entry
        self.log.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))
        if resign:
            checkpoints_path(self.log).write_text("".join(forged))


def verify(hub: Hub, *args: str):
    return CliRunner().invoke(audit, ["verify", *args], env={"KETENBRUG_HOME": str(hub.home)})


@pytest.fixture
def hub(tmp_path) -> Hub:
    return Hub(tmp_path / "hub")


def _drop(hub: Hub, seq: int, *, recompute: bool = True) -> None:
    hub.write([e for e in hub.entries() if e["seq"] != seq], recompute=recompute)


def _cut_below_checkpoint(hub: Hub) -> None:
    hub.write(hub.entries()[:2])  # the checkpoint signs seq 3


def _empty(hub: Hub) -> None:
    hub.log.write_bytes(b"")


def _delete(hub: Hub) -> None:
    hub.log.unlink()


def _remove_and_recompute(hub: Hub) -> None:
    _drop(hub, 2)  # run 1's delivery


def _delete_checkpoints(hub: Hub) -> None:
    checkpoints_path(hub.log).unlink()


def _empty_checkpoints(hub: Hub) -> None:
    checkpoints_path(hub.log).write_text("")


def _rewrite_and_delete_checkpoints(hub: Hub) -> None:
    entries = [e for e in hub.entries() if e["seq"] != 2 and e.get("event") != "checkpoint"]
    hub.write(entries, recompute=True)
    _delete_checkpoints(hub)


def _forge_with_own_key(hub: Hub) -> None:
    hub.write([e for e in hub.entries() if e["seq"] != 2], recompute=True,
              resign=Ed25519PrivateKey.generate())


def _forge_under_hub_key_id(hub: Hub) -> None:
    hub.write([e for e in hub.entries() if e["seq"] != 2], recompute=True,
              resign=Ed25519PrivateKey.generate(),
              key_id=hub_key_id(hub.signing_key.public_key()))


def _alter_mark(hub: Hub) -> None:
    entries = hub.entries()
    entries[3]["checkpoint"]["seq"] = 2
    hub.write(entries)


def _alter_checkpoint_signature(hub: Hub) -> None:
    store = checkpoints_path(hub.log)
    checkpoint = json.loads(store.read_text())
    checkpoint["signature"] = ("0" if checkpoint["signature"][0] != "0" else "1") \
        + checkpoint["signature"][1:]
    store.write_text(json.dumps(checkpoint) + "\n")


def _substitute_hub_key(hub: Hub) -> None:
    # The officer keeps the true public key elsewhere and passes it as --hub-key.
    shutil.copy(hub.keys / "hub-signing.pub", hub.home / "officer-hub-signing.pub")
    insider = Ed25519PrivateKey.generate()
    hub.write([e for e in hub.entries() if e["seq"] != 2], recompute=True, resign=insider)
    (hub.keys / "hub-signing.pub").write_bytes(insider.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _alter_entry(hub: Hub) -> None:
    entries = hub.entries()
    entries[1]["persons"] = 99
    hub.write(entries)


def _damage_a_line(hub: Hub) -> None:
    lines = hub.log.read_bytes().split(b"\n")
    lines[1] = lines[1][:12] + b"\xff" + lines[1][13:]
    hub.log.write_bytes(b"\n".join(lines))


def _cut_after_checkpoint(hub: Hub) -> None:
    hub.write(hub.entries()[:4])  # run 2 gone; the checkpoint at seq 4 still holds


def _remove_delivery_after_checkpoint(hub: Hub) -> None:
    _drop(hub, 6)


def _alter_witness_head(hub: Hub) -> None:
    manifest = json.loads(hub.witness_2.read_text())
    manifest["log_head"]["seq"] = 1
    hub.witness_2.write_text(json.dumps(manifest, sort_keys=True, indent=2))


# (tampering, arguments (paths relative to the home), what the report must say)
ATTEMPTS = {
    "log cut below the last checkpoint": (_cut_below_checkpoint, [], "cut from its end"),
    "log emptied": (_empty, [], "the disclosure log is empty"),
    "log deleted": (_delete, [], "no disclosure log here"),
    "entries removed and chain recomputed": (_remove_and_recompute, [],
                                             "differs from its signed checkpoint"),
    "checkpoints file deleted": (_delete_checkpoints, [], "checkpoints file was deleted"),
    "checkpoints file emptied": (_empty_checkpoints, [], "checkpoints were removed"),
    "checkpoint entry altered": (_alter_mark, [], "line 4: entry content does not match"),
    "log rewritten without its checkpoint entries, checkpoints deleted": (
        _rewrite_and_delete_checkpoints, [], "could have been cut or rewritten unnoticed"),
    "forged checkpoint (insider's own key)": (_forge_with_own_key, [], "a forged checkpoint"),
    "forged checkpoint under the hub's key id": (_forge_under_hub_key_id, [],
                                                "signature does not verify"),
    "checkpoint signature altered": (_alter_checkpoint_signature, [],
                                     "signature does not verify"),
    "hub-signing.pub replaced, officer's pinned --hub-key": (
        _substitute_hub_key, ["--hub-key", "officer-hub-signing.pub"], "a forged checkpoint"),
    "entry altered in place": (_alter_entry, [], "line 2: entry content does not match"),
    "line damaged inside the log": (_damage_a_line, [], "line 2: not valid UTF-8 at byte 12"),
    "tail after the checkpoint cut, witness manifest's head gone": (
        _cut_after_checkpoint, ["--witness", "recipient/run-2/manifest.json"], "no longer holds"),
    "delivery entry removed, package as witness": (
        _remove_delivery_after_checkpoint, ["--witness", "outbox/GM0363/run-2.kbpkg"],
        "no delivery entry holds this package's SHA-256"),
    "delivery entry removed, signed manifest as witness": (
        _remove_delivery_after_checkpoint, ["--witness", "recipient/run-2/manifest.json"],
        "its delivery entry was removed"),
    "witness manifest altered by its holder": (
        _alter_witness_head, ["--witness", "recipient/run-2/manifest.json"],
        "not a manifest the hub signed"),
}


@pytest.mark.parametrize("attempt", list(ATTEMPTS), ids=list(ATTEMPTS))
def test_tampering_is_detected(hub, attempt):
    tamper, args, named = ATTEMPTS[attempt]
    tamper(hub)
    result = verify(hub, *[str(hub.home / a) if "/" in a or a.endswith(".pub") else a
                           for a in args])
    assert result.exit_code == 1, result.output
    assert named in result.stderr


def test_an_intact_log_with_every_witness_passes(hub):
    witnesses = [hub.witness_1, hub.witness_2, hub.package_1, hub.package_2, hub.billing]
    result = verify(hub, *[a for w in witnesses for a in ("--witness", str(w))])
    assert result.exit_code == 0, result.output
    assert "7 entries, 1 checkpoints (signed up to seq 3), chain intact" in result.stdout
    assert "not yet checkpointed: 3 entries" in result.stdout
    assert result.stderr == ""


def test_the_tail_after_the_last_checkpoint_can_be_cut_unnoticed_without_a_witness(hub):
    # The honest window: the report counts what only a witness protects.
    _cut_after_checkpoint(hub)
    result = verify(hub)
    assert result.exit_code == 0 and "not yet checkpointed: 0 entries" in result.stdout
    assert verify(hub, "--witness", str(hub.witness_2)).exit_code == 1


def test_a_missing_hub_key_fails_rather_than_skipping_the_signatures(hub):
    (hub.keys / "hub-signing.pub").unlink()
    result = verify(hub)
    assert result.exit_code == 1 and "give --hub-key" in result.stderr


def test_checkpointing_twice_adds_nothing_and_a_checkpoint_killed_halfway_is_consistent(hub):
    first = checkpoint_log(hub.log, hub.signing_key)
    assert checkpoint_log(hub.log, hub.signing_key) == first
    assert [e["seq"] for e in hub.entries()][-2:] == [7, 8] and first.seq == 7
    hub.write(hub.entries()[:-1])  # killed after storing the checkpoint, before its mark
    result = verify(hub)
    assert result.exit_code == 0, result.output
    assert "not yet checkpointed: 0 entries" in result.stdout
    assert checkpoint_log(hub.log, hub.signing_key).seq == 7  # marked now


def test_the_hub_refuses_to_sign_over_a_rewritten_log(hub):
    _remove_and_recompute(hub)
    with pytest.raises(LogTampered, match=r"line 3 \(seq 3\): differs from its signed"):
        checkpoint_log(hub.log, hub.signing_key)


def test_every_manifest_witness_names_the_head_before_its_delivery(hub):
    head_1 = json.loads(hub.witness_1.read_text())["log_head"]
    head_2 = json.loads(hub.witness_2.read_text())["log_head"]
    entries = {e["seq"]: e for e in hub.entries()}
    assert (head_1["seq"], head_2["seq"]) == (1, 5)
    assert head_2["hash"] == entries[5]["hash"] and entries[6]["event"] == "delivery"
    assert json.loads(hub.billing.read_text())["log_head"]["seq"] == 2


def test_log_and_checkpoints_are_owner_only_and_a_readable_log_is_refused(hub):
    store = checkpoints_path(hub.log)
    assert {oct(p.stat().st_mode & 0o777) for p in (hub.log, store)} == {"0o600"}
    assert oct(hub.log.parent.stat().st_mode & 0o777) == "0o700"
    os.chmod(hub.log, 0o644)
    with pytest.raises(FileModeError, match="disclosure log .*chmod 600"):
        append_entry(hub.log, {"event": "x"})
    os.chmod(hub.log, 0o600)
    os.chmod(store, 0o640)
    with pytest.raises(FileModeError, match="checkpoints"):
        checkpoint_log(hub.log, hub.signing_key)


def test_extract_open_keeps_the_signed_manifest_a_recipient_hands_back_as_witness(hub):
    from ketenbrug.cli.extract import extract

    key = hub.home / "recipient" / f"{CODE}.key"
    key.write_bytes(hub.recipient_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption()))
    key.chmod(0o600)
    out = hub.home.parent / "opened"  # outside the hub's home: refused inside it
    opened = CliRunner().invoke(extract, [
        "open", str(hub.package_2), "--key", str(key), "--out", str(out),
        "--hub-key", str(hub.keys / "hub-signing.pub")])
    assert opened.exit_code == 0, opened.output
    assert {p.name for p in out.iterdir()} >= {"manifest.json", "manifest.sig"}
    assert verify(hub, "--witness", str(out / "manifest.json")).exit_code == 0
    _remove_delivery_after_checkpoint(hub)
    assert verify(hub, "--witness", str(out / "manifest.json")).exit_code == 1
