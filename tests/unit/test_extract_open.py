"""`ketenbrug extract open` as a municipality runs it, on its own machine or beside a hub:
where the opened data goes, which hub key it trusts and says so, and what it prints."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from click.testing import CliRunner

from ketenbrug.cli import main
from ketenbrug.privacy import seal_package
from ketenbrug.privacy.hub_key import HUB_KEY_FILE, hub_key_fingerprint, publish_hub_key
from ketenbrug.privacy.sealing import load_or_create_recipient_key, load_or_create_signing_key

CODE = "GM0363"
# Synthetic: a BSN that passes no eleven-test, a made-up person.
CSV = (b"bsn,surname,expected_date,needs_care_handover\r\n"
       b"000000000,Testpersoon,2026-12-01,false\r\n")


@pytest.fixture
def received(tmp_path, monkeypatch):
    """A hub home with one package in its outbox, and the municipality's key elsewhere."""
    monkeypatch.delenv("KETENBRUG_HOME", raising=False)
    hub_keys = tmp_path / "hub" / "keys"
    signing = load_or_create_signing_key(hub_keys)
    recipient = load_or_create_recipient_key(hub_keys, CODE)
    outbox = tmp_path / "hub" / "outbox" / CODE
    outbox.mkdir(parents=True)
    package = outbox / "warm_handover_2026-11-29.kbpkg"
    package.write_bytes(seal_package(
        {"warm_handover.csv": CSV}, {"purpose": "warm_handover", "legal_basis": "test",
                                     "row_count": 1, "as_of_date": "2026-11-29",
                                     "generated_at": "2026-11-29T06:00:00+00:00"},
        recipient_id=CODE, recipient_key=recipient.public_key(), signing_key=signing))
    publish_hub_key(outbox, signing.public_key())
    municipality = tmp_path / "municipality"
    municipality.mkdir()
    key = municipality / f"{CODE}.key"
    shutil.copy(hub_keys / "recipients" / f"{CODE}.key", key)
    key.chmod(0o600)
    monkeypatch.chdir(municipality)
    return package, key, signing.public_key()


def _open(package, key, *args):
    return CliRunner().invoke(main, ["extract", "open", str(package), "--key", str(key), *args])


def test_opened_into_the_current_folder_with_the_hub_key_beside_the_package(received):
    package, key, hub_key = received
    done = _open(package, key)
    assert done.exit_code == 0, done.output
    target = key.parent / "warm_handover_2026-11-29"
    assert (target / "warm_handover.csv").read_bytes() == CSV
    assert not list(package.parent.glob("*.csv")) and not (package.with_suffix("")).exists()
    fingerprint = hub_key_fingerprint(hub_key)
    assert f"fingerprint {fingerprint}" in done.output
    assert str(package.parent / HUB_KEY_FILE) in done.output
    signed = json.loads((target / "manifest.json").read_text())
    assert signed["hub_key_fingerprint"] == fingerprint
    assert len(fingerprint.split()) == 16 and all(len(g) == 4 for g in fingerprint.split())


@pytest.mark.parametrize("where", ["outbox", "home", "keys"])
def test_a_target_inside_the_hubs_home_is_refused_and_nothing_is_written(received, where):
    package, key, _ = received
    home = package.parents[2]
    out = {"outbox": package.with_suffix(""), "home": home / "opened",
           "keys": home / "keys" / "x"}[where]
    before = sorted(home.rglob("*"))
    refused = _open(package, key, "--out", str(out))
    assert refused.exit_code == 1
    assert refused.output.count("\n") == 1 and "Traceback" not in refused.output
    assert f"lies in the hub's folder {home}" in refused.output
    assert sorted(home.rglob("*")) == before
    assert not key.with_suffix(".opened.json").exists()  # not even the replay state


def test_the_configured_hub_home_is_refused_even_without_its_marker_files(received,
                                                                          monkeypatch, tmp_path):
    package, key, _ = received
    home = tmp_path / "configured-home"
    home.mkdir()
    monkeypatch.setenv("KETENBRUG_HOME", str(home))
    refused = _open(package, key, "--out", str(home / "opened"))
    assert refused.exit_code == 1 and f"the hub's folder {home}" in refused.output
    assert not (home / "opened").exists()


def test_a_hub_key_file_of_the_wrong_size_is_one_line_naming_it(received, tmp_path):
    package, key, _ = received
    garbled = tmp_path / "garbled.pub"
    garbled.write_bytes(b"not a key\n")
    refused = _open(package, key, "--hub-key", str(garbled))
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert refused.output.count("\n") == 1
    assert f"{garbled} is 10 bytes" in refused.output and "32-byte" in refused.output
    assert not (key.parent / "warm_handover_2026-11-29").exists()


def test_a_recipient_key_file_of_the_wrong_size_is_one_line_naming_it(received):
    package, key, _ = received
    key.write_bytes(key.read_bytes()[:31])
    refused = _open(package, key)
    assert refused.exit_code == 1 and refused.output.count("\n") == 1
    assert f"{key} is 31 bytes" in refused.output and "32-byte" in refused.output


def test_without_a_hub_key_it_says_where_the_hub_publishes_it(received, tmp_path):
    package, key, _ = received
    alone = tmp_path / "downloads" / package.name
    alone.parent.mkdir()
    shutil.copy(package, alone)
    refused = _open(alone, key)
    assert refused.exit_code == 1 and refused.output.count("\n") == 1
    assert f"no {HUB_KEY_FILE} found in {alone.parent}" in refused.output
    assert f"outbox/<your code>/{HUB_KEY_FILE}" in refused.output and "--hub-key" in refused.output


def test_the_semicolon_form_on_request(received):
    package, key, _ = received
    done = _open(package, key, "--csv", "semicolon", "--out", "opened")
    assert done.exit_code == 0, done.output
    data = (key.parent / "opened" / "warm_handover.csv").read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows == list(csv.reader(io.StringIO(CSV.decode(), newline="")))


def test_json_says_what_was_verified_and_written(received):
    package, key, hub_key = received
    done = _open(package, key, "--json", "--out", "opened")
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert report["recipient"] == CODE and report["row_count"] == 1
    assert report["verified"]["hub_key_fingerprint"] == hub_key_fingerprint(hub_key)
    assert report["verified"]["hub_key_file"] == str(package.parent / HUB_KEY_FILE)
    assert report["written_to"] == str(key.parent / "opened")
    assert report["files"] == ["warm_handover.csv"] and report["csv"] == "rfc4180"
    assert report["witness"] == ["manifest.json", "manifest.sig"]
