"""A damaged line in the disclosure log does not stop an officer's read or a subject request."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ketenbrug import warehouse
from ketenbrug.cli.audit import audit
from ketenbrug.config import Settings
from ketenbrug.delivery.profile_reads import read_profiles
from ketenbrug.privacy import (
    INTERNAL_DOMAIN,
    KeyStore,
    Pseudonymiser,
    append_entry,
    linkage_basis,
    load_or_create_keyring,
    read_log,
)
from ketenbrug.privacy.subject_refs import subject_refs

BSN = "111222333"  # passes the eleven-test; synthetic


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    for name in ("KETENBRUG_WAREHOUSE", "KETENBRUG_VAULT", "KETENBRUG_KEYS_DIR",
                 "KETENBRUG_OUTBOX", "KETENBRUG_DISCLOSURE_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KETENBRUG_HOME", str(tmp_path / "hub"))
    settings = Settings.from_env()
    load_or_create_keyring(settings.keys_dir)
    return settings


def _damage_between(settings: Settings, before: dict, after: dict) -> None:
    """An entry, a line with a flipped byte, an entry."""
    append_entry(settings.disclosure_log, before)
    with settings.disclosure_log.open("ab") as handle:
        handle.write(b'{"event": "delivery", "persons": \xff3}\n')
    append_entry(settings.disclosure_log, after)


def test_an_officers_read_goes_on_and_is_logged_after_a_damaged_line(settings):
    with warehouse.connect(settings.warehouse_path) as con:
        con.execute("create schema privacy")
        con.execute("create table privacy.domain_pseudonyms (person_pseudonym text, "
                    "domain text, domain_pseudonym text)")
        con.execute("create table main.client_profiles (organisation text, "
                    "client_pseudonym text, risc_level text)")
        con.execute("insert into privacy.domain_pseudonyms "
                    "values ('v1-' || repeat('a', 32), 'RN', 'v1-rn')")
        con.execute("insert into main.client_profiles values ('RN', 'v1-rn', 'high')")
    _damage_between(settings, {"event": "x"}, {"event": "y"})
    rows = read_profiles(settings, "RN")
    assert [r["client_pseudonym"] for r in rows] == ["v1-rn"]
    read, mark = read_log(settings.disclosure_log)[-2:]
    assert (read["event"], read["seq"], read["persons"]) == ("profile_read", 3, 1)
    # and signed at once: the read cannot be cut from the log unnoticed
    assert (mark["event"], mark["checkpoint"]["seq"]) == ("checkpoint", 3)


def test_subject_access_answers_and_warns_that_damaged_lines_may_hide_disclosures(settings):
    keys = KeyStore(settings.keys_dir)
    basis = linkage_basis({"bsn": BSN})
    assert basis is not None
    pseudonym = Pseudonymiser(keys.current(), INTERNAL_DOMAIN).pseudonym(basis[1])
    refs = subject_refs(keys, [pseudonym])
    _damage_between(settings, {"event": "delivery", "recipient": "municipality:GM0363",
                               "subject_refs": refs}, {"event": "profile_read"})
    result = CliRunner().invoke(audit, ["subject", "--bsn", BSN])
    assert result.exit_code == 0, result.output
    assert "lines 2 are damaged; the disclosures listed may be incomplete" in result.stderr
    assert '"recipient": "municipality:GM0363"' in result.stdout  # the whole one is found
    assert BSN not in result.stderr
    request, mark = read_log(settings.disclosure_log)[-2:]
    assert request["event"] == "subject_access"
    assert (mark["event"], mark["checkpoint"]["hash"]) == ("checkpoint", request["hash"])
