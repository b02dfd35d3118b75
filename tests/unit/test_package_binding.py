"""Packages bound to their recipient, and `ketenbrug extract open` as a municipality runs it."""

from __future__ import annotations

import json
import os
import stat

import pytest
from click.testing import CliRunner

from ketenbrug.cli import main
from ketenbrug.privacy import OpenedPackages, PackageError, open_package, seal_package
from ketenbrug.privacy.sealing import (
    MAGIC,
    hub_key_id,
    load_or_create_recipient_key,
    load_or_create_signing_key,
    recipient_key_sha256,
)
from tests.unit import package_attacks as attack


def _opened(blob):
    return open_package(blob, recipient_id="GM0363", recipient_key=attack.GM0363,
                        hub_key=attack.HUB.public_key())


def test_the_binding_is_signed_and_in_the_clear_header():
    blob = attack.package()
    header = json.loads(blob[len(MAGIC):].partition(b"\n")[0])
    manifest = _opened(blob).manifest
    kid = hub_key_id(attack.HUB.public_key())
    assert (header["recipient"], header["hub_key_id"]) == ("GM0363", kid)
    assert manifest["recipient"] == "GM0363" and manifest["hub_key_id"] == kid
    assert manifest["recipient_key_sha256"] == recipient_key_sha256(attack.GM0363.public_key())


def test_the_same_package_twice_and_then_a_newer_one_are_opened(tmp_path):
    state = OpenedPackages(tmp_path / "GM0363.opened.json")
    first = _opened(attack.package(as_of="2026-11-20", generated="2026-11-20T06:00:00+00:00"))
    for _ in range(2):
        state.check(first)
        state.remember(first)
    newer = _opened(attack.package(as_of="2026-11-27"))
    state.check(newer)
    state.remember(newer)
    with pytest.raises(PackageError, match="replayed: as of 2026-11-20"):
        state.check(first)  # once a newer one is opened, the older is a replay
    assert stat.S_IMODE((tmp_path / "GM0363.opened.json").stat().st_mode) == 0o600


def test_replay_state_is_kept_per_purpose(tmp_path):
    state = OpenedPackages(tmp_path / "GM0363.opened.json")
    state.remember(_opened(attack.package(as_of="2026-11-27")))
    other = seal_package(attack.DATA, {"purpose": "billing", "as_of_date": "2026-11-01",
                                       "generated_at": "2026-11-01T06:00:00+00:00"},
                         recipient_id="GM0363", recipient_key=attack.GM0363.public_key(),
                         signing_key=attack.HUB)
    state.check(_opened(other))  # older, but of another purpose: not a replay


# `ketenbrug extract open`, with the keys laid out as the demo hub lays them.

def _hub(tmp_path):
    keys = tmp_path / "hub" / "keys"  # the municipality's files beside the hub, not in it
    signing = load_or_create_signing_key(keys)
    recipients = {code: load_or_create_recipient_key(keys, code) for code in ("GM0363", "GM0072")}
    return keys, signing, recipients


def _sealed(tmp_path, name, signing, key, as_of="2026-11-27", recipient="GM0363"):
    manifest = {"purpose": "warm_handover", "legal_basis": "art. 10 Wjsg", "row_count": 1,
                "as_of_date": as_of, "generated_at": f"{as_of}T06:00:00+00:00"}
    path = tmp_path / name
    path.write_bytes(seal_package(attack.DATA, manifest, recipient_id=recipient,
                                  recipient_key=key.public_key(), signing_key=signing))
    return path


def _extract(package, key, *args):
    return CliRunner().invoke(main, ["extract", "open", str(package), "--key", str(key),
                                     "--out", str(package.with_suffix(".out")), *args])


def test_extract_open_refuses_a_package_passed_on_to_another_municipality(tmp_path):
    keys, signing, recipients = _hub(tmp_path)
    mine = _sealed(tmp_path, "mine.kbpkg", signing, recipients["GM0363"])
    passed_on = tmp_path / "passed_on.kbpkg"
    passed_on.write_bytes(attack.encrypt(
        attack.inner_zip(mine.read_bytes(), recipients["GM0363"], "GM0363"),
        to_id="GM0072", to_key=recipients["GM0072"].public_key(),
        kid=hub_key_id(signing.public_key())))
    refused = _extract(passed_on, keys / "recipients" / "GM0072.key")
    assert refused.exit_code == 1
    assert "re-addressed: signed for GM0363, encrypted for GM0072" in refused.output
    assert not passed_on.with_suffix(".out").exists()
    assert not (keys / "recipients" / "GM0072.opened.json").exists()


def test_extract_open_takes_the_recipient_from_the_key_file_or_refuses_another(tmp_path):
    keys, signing, recipients = _hub(tmp_path)
    package = _sealed(tmp_path, "p.kbpkg", signing, recipients["GM0363"])
    key = keys / "recipients" / "GM0363.key"
    wrong = _extract(package, key, "--recipient", "GM0072")
    assert wrong.exit_code == 1
    assert "not for you: addressed to GM0363, you are GM0072" in wrong.output
    opened = _extract(package, key)
    assert opened.exit_code == 0, opened.output
    assert "verified: signed by the hub, for GM0363" in opened.output
    assert (package.with_suffix(".out") / "warm_handover.csv").read_bytes() == \
        attack.DATA["warm_handover.csv"]


def test_extract_open_refuses_a_replay_and_reopens_the_same_package(tmp_path):
    keys, signing, recipients = _hub(tmp_path)
    key = keys / "recipients" / "GM0363.key"
    old = _sealed(tmp_path, "old.kbpkg", signing, recipients["GM0363"], as_of="2026-11-20")
    new = _sealed(tmp_path, "new.kbpkg", signing, recipients["GM0363"], as_of="2026-11-27")
    state = tmp_path / "state.json"
    assert _extract(new, key, "--state", str(state)).exit_code == 0
    assert _extract(new, key, "--state", str(state)).exit_code == 0  # the very same one
    replayed = _extract(old, key, "--state", str(state))
    assert replayed.exit_code == 1
    assert "replayed: as of 2026-11-20" in replayed.output
    assert "older than 2026-11-27" in replayed.output
    assert not old.with_suffix(".out").exists()
    assert stat.S_IMODE(state.stat().st_mode) == 0o600


def test_extract_open_refuses_a_recipient_key_others_can_read(tmp_path):
    keys, signing, recipients = _hub(tmp_path)
    package = _sealed(tmp_path, "p.kbpkg", signing, recipients["GM0363"])
    os.chmod(keys / "recipients" / "GM0363.key", 0o644)
    refused = _extract(package, keys / "recipients" / "GM0363.key")
    assert refused.exit_code == 1 and "chmod 600" in refused.output
    assert not package.with_suffix(".out").exists()
