"""The leak guard finds a planted identity wherever it is put, and names only the place."""

import sqlite3

import duckdb
import pytest

from ketenbrug.privacy.leak_scan import TruthIndex, scan_files, scan_warehouse

PERSONS = [
    {"bsn": "111222333", "given_name": "Anna", "surname": "van der Berg",
     "birth_date": "1980-01-02"},
    {"bsn": "123456782", "given_name": "Bram", "surname": "Smit", "birth_date": "1975-06-30"},
]
TRUTH = TruthIndex(PERSONS)


@pytest.mark.parametrize("text, kind", [
    ("client 111222333 released", "bsn"),
    ('{"display": "Anna van der Berg"}', "full_name"),
    ("ANNA VAN DER BERG, 3 days", "full_name"),
    ("smit born 1975-06-30", "birth_date_with_name"),
])
def test_each_kind_of_identity_is_found(text, kind):
    assert TRUTH.scan(text)[kind] == 1


@pytest.mark.parametrize("text", [
    "1111222333",  # ten digits: not this BSN
    "Anna van Dijk",  # another surname
    "Smitse released 1975-06-30",  # not the surname as a word
    "Berg 1980-01-03",  # another date
    "v1-3fa9c0d2e4b5a6978812aabbccddeeff",
])
def test_near_misses_are_not_hits(text):
    assert not TRUTH.scan(text)


def test_files_are_scanned_except_vault_and_sealed_packages(tmp_path):
    (tmp_path / "dagster").mkdir()
    db = sqlite3.connect(tmp_path / "dagster" / "runs.db")
    db.execute("create table event_logs (event text)")
    db.execute("insert into event_logs values ('step failed for bsn 123456782')")
    db.commit()
    db.close()
    (tmp_path / "ok.log").write_text("all fine\n")
    (tmp_path / "outbox.kbpkg").write_text("111222333")  # sealed: allowed
    (tmp_path / "vault.duckdb").write_text("111222333")  # the vault: allowed
    hits = scan_files([tmp_path], TRUTH, skip=[tmp_path / "vault.duckdb"])
    assert [(h.place.endswith("runs.db"), h.kind) for h in hits] == [(True, "bsn")]
    assert "123456782" not in hits[0].describe()


def test_every_warehouse_table_and_column_is_scanned(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema landing")
        con.execute("create table landing.x (a varchar, b varchar)")
        con.execute("insert into landing.x values ('fine', 'Bram Smit'), ('ok', 'fine')")
    (hit,) = scan_warehouse(path, TRUTH)
    assert (hit.place, hit.kind, hit.count) == ("warehouse landing.x.b", "full_name", 1)


# Without ground truth (a production hub): detectors and the vault.

def _detector_scan(vault, keyring, free_text=None):
    from ketenbrug.privacy import INTERNAL_DOMAIN, IdentityRecord, Pseudonymiser
    from ketenbrug.privacy.identity_detection import KnownBsns
    from ketenbrug.privacy.leak_scan import DetectorScan
    internal = Pseudonymiser(keyring, INTERNAL_DOMAIN)
    vault.store([IdentityRecord(internal.pseudonym("bsn:123456789"), "dji",
                                {"bsn": "123456789"})])  # known, failing the eleven-test
    return DetectorScan(KnownBsns(internal, vault), free_text)


def test_a_vault_persons_bsn_in_any_file_is_a_leak_and_a_lookalike_only_a_warning(
        vault, keyring, tmp_path):
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    (home / "logs" / "run.log").write_text("step failed for 123456789\n")
    (home / "logs" / "other.log").write_text("order 111222333 at 2026-01-02, 06-12345678\n")
    (home / "outbox.kbpkg").write_text("123456789")  # sealed: allowed
    scan = _detector_scan(vault, keyring)
    scan.add_files([home])
    report = scan.report()
    assert [(h.place.endswith("run.log"), h.kind, h.count) for h in report.leaks] == [
        (True, "known_bsn", 1)]
    # a valid-looking unknown BSN is worth a look; dates and phone-like numbers outside
    # free text are not reported at all
    assert [(h.place.endswith("other.log"), h.kind) for h in report.warnings] == [(True, "bsn")]
    assert "123456789" not in report.leaks[0].describe()


def test_in_the_warehouse_free_text_columns_are_held_to_every_detector(vault, keyring, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema landing")
        con.execute("create table landing.c (contact_point varchar, updated_at varchar, "
                    "note varchar)")
        con.execute("insert into landing.c values ('team-utrecht@rn.example', '2026-01-01', 'x'),"
                    "('jan@example.org', '2026-01-02', 'bsn 1234.56.789')")
    scan = _detector_scan(vault, keyring, {"landing.c.contact_point": ("team",)})
    scan.add_warehouse(path)
    report = scan.report()
    assert sorted((h.place, h.kind, h.count) for h in report.leaks) == [
        ("warehouse landing.c.contact_point", "email", 1),
        ("warehouse landing.c.note", "known_bsn", 1)]
    assert report.warnings == []  # dates in a structured column are no alarm
