"""Identities where none belong, through a real landing: another person's name, BSN and
address typed into a contact point, and a BSN used as a DJI record key.

One Dagster run lands every dataset of a served world carrying both; the contact point's
batch is quarantined naming rule and field, the detention is refused without its key,
neither value is anywhere in the warehouse, and `privacy scan` on the hub, which has no
ground truth, finds a vault person's BSN planted in a file under the home.
"""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner
from dagster import materialize

from ketenbrug.cli import main
from ketenbrug.pipelines.assets.landing import LANDING_ASSETS
from ketenbrug.pipelines.checks.landing_checks import LANDING_CHECKS
from ketenbrug.simulators import generate_world


@pytest.fixture(scope="module")
def world():
    world = generate_world(clients=60, seed=13)
    victim = world.persons[-1]
    client = world.probation_clients[0]
    client["contact_point"] = (f"{victim['given_name']} {victim['surname']} {victim['bsn']} "
                               f"{victim['street']} {victim['house_number']}, "
                               f"{victim['postcode'][:4]} {victim['postcode'][4:]}")
    detention = world.detentions[0]
    detention["registration_number"] = detention["bsn"]  # the source keys on the BSN
    world.planted = {"client_id": client["client_id"], "victim": victim,  # type: ignore[attr-defined]
                     "keyed_bsn": detention["bsn"]}
    return world


def _warehouse_text(path: str) -> str:
    """Every text value of every table, one per line."""
    with duckdb.connect(path, read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'").fetchall()
        return "\n".join(str(v) for s, t, c in columns for (v,) in con.execute(
            f'select "{c}" from "{s}"."{t}" where "{c}" is not null').fetchall())


def test_identities_are_withheld_refused_and_found_by_the_scan(world, hub_storage,
                                                             source_systems, tmp_path):
    result = materialize([*LANDING_ASSETS, *LANDING_CHECKS],
                         resources={"hub": hub_storage, **source_systems})
    assert result.success  # a quarantine stays in its lane; the accounting still balances
    planted = world.planted
    db = hub_storage.warehouse_path
    with duckdb.connect(db, read_only=True) as con:
        batches = dict(con.execute(
            "select dataset, status from landing._batches").fetchall())
        (verdict,) = con.execute("select verdict from landing._batches "
                                 "where dataset = 'clients'").fetchone()
        findings = con.execute(
            "select contact_point, identity_findings from landing.probation__clients "
            "where _record_key = ?", [planted["client_id"]]).fetchone()
        rejections = con.execute(
            "select r.record_key, r.reason from landing._rejections r join landing._batches b "
            "using (batch_id) where b.dataset = 'detentions'").fetchall()
        unbalanced = con.execute(
            "select count(*) from landing._batches where "
            "received <> staged + quarantined + unchanged + rejected").fetchone()
    assert batches["clients"] == "quarantined"
    assert "rule identity.none_in_free_text on identity_findings: 1 record(s)" in verdict
    assert planted["client_id"] in verdict
    assert findings == (None, "contact_point:bsn,contact_point:known_bsn,"
                              "contact_point:postcode_house_number")
    assert rejections == [(None, "record key registration_number holds an identity "
                                 "(rule bsn,known_bsn); the key is not stored")]
    assert batches["detentions"] == "passed" and unbalanced == (0,)
    everything = _warehouse_text(db)
    victim = planted["victim"]
    for value in (victim["bsn"], victim["street"], planted["keyed_bsn"]):
        assert value not in everything

    # A production hub (no recorded world): the scan still finds a vault person's BSN.
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "note.txt").write_text(f"checked {planted['keyed_bsn']}\n")
    done = CliRunner().invoke(main, ["privacy", "scan"], env={
        "KETENBRUG_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "dagster_home")})
    assert done.exit_code == 1, done.output
    leaks = [line for line in done.stderr.splitlines() if "LEAK" in line]
    assert leaks == [f"  LEAK known_bsn x1 in {tmp_path / 'exports' / 'note.txt'}"]
    assert not [line for line in done.stderr.splitlines() if "warning" in line
                and str(tmp_path) in line]  # confirmed by the vault: a leak, not a warning too
    assert "1 leak(s)" in done.stdout and "synthetic identities" not in done.stdout
    assert planted["keyed_bsn"] not in done.output
