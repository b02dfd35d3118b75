"""A municipality keeps its records linked across a key rotation (issue 17).

On a copy of the demo's home: open every package, `keys rotate`, run the demo again, and
open what each municipality received next, as it would.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ketenbrug.privacy import open_package, read_log
from ketenbrug.privacy.sealing import load_private_key
from tests.e2e.conftest import CLIENTS, SEED, cli

pytestmark = pytest.mark.e2e

CHANGES = "person_ref_changes.csv"


def _received(home: Path) -> dict[str, tuple[dict, dict[str, list[dict]]]]:
    """Per municipality in the outbox: its package's manifest and files read as CSV rows."""
    hub_key = Ed25519PublicKey.from_public_bytes((home / "keys" / "hub-signing.pub").read_bytes())
    received = {}
    for package in sorted((home / "outbox").glob("*/*.kbpkg")):
        code = package.parent.name
        opened = open_package(
            package.read_bytes(), recipient_id=code, hub_key=hub_key,
            recipient_key=load_private_key(home / "keys" / "recipients" / f"{code}.key"))
        received[code] = (opened.manifest, {
            name: list(csv.DictReader(io.StringIO(data.decode())))
            for name, data in opened.files.items() if name.endswith(".csv")})
    return received


def _refs_by_bsn(files: dict[str, list[dict]]) -> dict[str, str]:
    # The synthetic BSN tells the test who is who; the municipality would use person_ref.
    return {row["bsn"]: row["person_ref"] for row in files["warm_handover.csv"]}


def test_after_a_key_rotation_each_municipality_can_carry_its_person_refs_over(
        demo_home, tmp_path):
    home, _, _ = demo_home
    copy = tmp_path / "hub"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("dagster_home"))
    before = _received(copy)
    assert before and all(CHANGES not in files for _, files in before.values())

    rotated = cli(copy, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr[-2000:]
    rerun = cli(copy, "demo", "--clients", str(CLIENTS), "--seed", str(SEED))
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    after = _received(copy)

    linked = 0
    for code, (manifest, files) in after.items():
        old = _refs_by_bsn(before[code][1]) if code in before else {}
        new = _refs_by_bsn(files)
        in_both = old.keys() & new.keys()
        assert manifest["key_version"] == 2
        assert all(old[bsn] != new[bsn] for bsn in in_both)  # the key changed them all
        if not in_both:
            assert CHANGES not in files, code
            continue
        changes = {r["former_person_ref"]: r["person_ref"] for r in files[CHANGES]}
        assert manifest["person_ref_changes"] == {
            "file": CHANGES, "rows": len(files[CHANGES]),
            "from_key_versions": [1], "to_key_version": 2}
        # Every person it holds from before is found again under the new ref ...
        assert {bsn: changes.get(old[bsn]) for bsn in in_both} == {
            bsn: new[bsn] for bsn in in_both}
        # ... and the map names no one it was not sent before, nor anyone not in this package.
        assert set(changes) <= set(old.values()) and set(changes.values()) <= set(new.values())
        linked += len(in_both)
    assert linked > 0

    deliveries = [e for e in read_log(copy / "audit" / "disclosures.jsonl")
                  if e.get("event") == "delivery" and e.get("purpose") == "warm_handover"]
    mapped = [e for e in deliveries if e.get("person_ref_changes")]
    assert mapped and all("former_person_ref" in e["fields"] for e in mapped)

    # A second delivery under the same key: the same refs, and no map any more.
    again = cli(copy, "demo", "--clients", str(CLIENTS), "--seed", str(SEED), "--redeliver")
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    redelivered = _received(copy)
    assert redelivered.keys() == after.keys()
    for code, (manifest, files) in redelivered.items():
        assert CHANGES not in files and "person_ref_changes" not in manifest, code
        assert _refs_by_bsn(files) == _refs_by_bsn(after[code][1])
