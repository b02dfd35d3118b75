"""Write-audit-publish with a steward in the loop: a bad batch is held, shown, and leaves
quarantine only by release (after a contract fix) or drop (after a source fix) — with
every record accounted for throughout."""

from __future__ import annotations

import copy

import duckdb
import pytest
from dagster import materialize

from ketenbrug.contracts.odcs import Contract, load_contract
from ketenbrug.pipelines.assets.landing import LANDING_ASSETS
from ketenbrug.pipelines.checks.landing_checks import LANDING_CHECKS
from ketenbrug.pipelines.resources import SourceSystem
from ketenbrug.simulators import WorldServer, generate_world
from ketenbrug.stewardship import quarantine

DETENTIONS = [a for a in LANDING_ASSETS if a.key.to_user_string() == "landing/dji__detentions"]
CHECKS = [c for c in LANDING_CHECKS
          if "dji__detentions" in str(list(c.check_keys)[0].asset_key)]


@pytest.fixture
def world():
    world = generate_world(clients=150, seed=11)
    world.detentions[1]["prison_code"] = "pi nowhere"  # breaks the contract's pattern
    return world


@pytest.fixture
def hub(hub_storage):
    return hub_storage


def _pull(server, hub):
    return materialize([*DETENTIONS, *CHECKS], raise_on_error=False, resources={
        "hub": hub, "source_dji": SourceSystem(slug="dji", base_url=server.base_urls["dji"],
                                               credential=server.credentials["dji"])})


def _staged_keys(hub):
    with duckdb.connect(hub.warehouse_path, read_only=True) as con:
        return {k for (k,) in con.execute(
            "select _record_key from landing.dji__detentions l join landing._batches b "
            "on b.batch_id = l._batch_id where b.status in ('passed', 'released')").fetchall()}


def test_bad_batch_is_quarantined_shown_and_dropped_then_re_pulled_after_a_source_fix(world, hub):
    bad_key = world.detentions[1]["registration_number"]
    with WorldServer(world) as server:
        result = _pull(server, hub)
        # The batch is quarantined, and only that: the contract check does not block
        [contract] = [e for e in result.get_asset_check_evaluations()
                      if e.check_name == "contract"]
        assert result.success and not contract.passed
        (held,) = quarantine.list_batches(hub.warehouse_path)
        report = quarantine.show_batch(hub.warehouse_path, held["batch_id"])
        assert f"prison_code.pattern on prison_code: 1 record(s), keys {bad_key}" in (
            report.ledger["verdict"])
        assert "pi nowhere" not in report.ledger["verdict"]  # keys, never values
        assert not _staged_keys(hub)

        with pytest.raises(quarantine.QuarantineError, match="still fails"):
            quarantine.release_batch(hub.warehouse_path, held["batch_id"], "tried", "steward")
        dropped = quarantine.drop_batch(hub.warehouse_path, held["batch_id"],
                                        "source sent a malformed prison code", "steward")
        assert dropped == held["received"]

        fixed = copy.deepcopy(world)
        fixed.detentions[1]["prison_code"] = "PI-ARNHEM"
    with WorldServer(fixed) as server:
        assert _pull(server, hub).success
    assert bad_key in _staged_keys(hub)
    assert len(_staged_keys(hub)) == len(world.detentions)  # nothing lost
    accounting = quarantine.list_batches(hub.warehouse_path, "all")
    assert all(b["received"] == b["staged"] + b["quarantined"] + b["unchanged"] + b["rejected"]
               for b in accounting)


def test_release_after_a_contract_fix_publishes_the_batch(world, hub, monkeypatch):
    with WorldServer(world) as server:
        _pull(server, hub)
    (held,) = quarantine.list_batches(hub.warehouse_path)
    contract = load_contract("dji", "detentions")
    loosened = copy.deepcopy(contract.document)
    for prop in loosened["schema"][0]["properties"]:
        if prop["name"] == "prison_code":
            prop.pop("logicalTypeOptions")
    monkeypatch.setattr(quarantine, "load_contract", lambda source, dataset: Contract(
        source, dataset, "1.1.0", loosened))
    result = quarantine.release_batch(hub.warehouse_path, held["batch_id"],
                                      "contract 1.1.0 accepts local prison codes", "steward")
    assert result.passed
    assert len(_staged_keys(hub)) == len(world.detentions)
    (decision,) = quarantine.show_batch(hub.warehouse_path, held["batch_id"]).decisions
    assert decision["decision"] == "released" and decision["decided_by"] == "steward"


def test_a_decision_needs_a_reason_and_a_quarantined_batch(world, hub):
    with WorldServer(world) as server:
        _pull(server, hub)
    (held,) = quarantine.list_batches(hub.warehouse_path)
    with pytest.raises(quarantine.QuarantineError, match="needs a reason"):
        quarantine.drop_batch(hub.warehouse_path, held["batch_id"], "  ", "steward")
    with pytest.raises(quarantine.QuarantineError, match="no batch"):
        quarantine.drop_batch(hub.warehouse_path, "nope", "x", "steward")
