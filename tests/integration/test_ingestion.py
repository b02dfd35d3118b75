"""Landing assets and their contract checks, run in Dagster against the simulated sources."""

from __future__ import annotations

import duckdb
import pytest
from dagster import materialize

from ketenbrug.connectors import CONNECTORS, HttpSettings, all_datasets
from ketenbrug.pipelines.assets import landing
from ketenbrug.pipelines.assets.landing import LANDING_ASSETS
from ketenbrug.pipelines.checks.landing_checks import LANDING_CHECKS
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.simulators import generate_world


@pytest.fixture(scope="module")
def world():
    return generate_world(clients=400, seed=7)


@pytest.fixture
def resources(hub_storage, source_systems):
    return {"hub": hub_storage, **source_systems}


def _land(resources):
    return materialize([*LANDING_ASSETS, *LANDING_CHECKS], resources=resources)


def _count(resources, sql):
    with duckdb.connect(resources["hub"].warehouse_path, read_only=True) as con:
        return con.execute(sql).fetchall()


# One chunk per pull, pulls landed in chunks smaller than a page (pages of 100), and
# pulls read ahead by a process of their own (connectors/read_ahead.py)
@pytest.mark.parametrize(("chunk_records", "read_ahead"), [
    (landing.LANDING_CHUNK_RECORDS, False), (37, False), (37, True)])
def test_every_dataset_lands_checked_and_accounted_for(resources, world, chunk_records,
                                                       read_ahead, monkeypatch):
    monkeypatch.setattr(landing, "LANDING_CHUNK_RECORDS", chunk_records)
    fields = {name: getattr(resources["hub"], name) for name in HubStorage.model_fields}
    resources["hub"] = HubStorage(**{**fields, "read_ahead": read_ahead})
    result = _land(resources)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    # Two checks per dataset, in one op: the contract's verdict, then the accounting.
    assert sorted(e.check_name for e in evaluations) == (
        ["accounting"] * len(all_datasets()) + ["contract"] * len(all_datasets()))
    assert all(e.passed for e in evaluations)
    batches = _count(resources, "select source, dataset, status, received, staged, quarantined, "
                                "unchanged, rejected from landing._batches")
    for source, dataset, status, received, staged, quarantined, unchanged, rejected in batches:
        assert status == "passed", (source, dataset)
        assert received == staged + quarantined + unchanged + rejected
    (clients,) = _count(resources, "select count(*) from landing.probation__clients")[0]
    assert clients == len(world.probation_clients)


def test_fields_no_purpose_permits_are_dropped_and_counted_by_name(resources):
    result = _land(resources)
    metadata = {m.asset_key.to_user_string(): m.metadata
                for m in result.get_asset_materialization_events() for m in
                [m.event_specific_data.materialization]}
    # probation projects fields on request, so what no purpose permits is never even sent
    assert metadata["landing/probation__orders"]["fields_dropped"].value == {}
    assert metadata["landing/dji__detentions"]["fields_dropped"].value["offence_description"] > 0
    care = metadata["landing/care__episodes"]["fields_dropped"].value
    assert "text.div" in care and "diagnosis[].condition.reference" in care
    columns = {c for (c,) in _count(resources, "select column_name from "
                                               "information_schema.columns")}
    assert not columns & {"offence_description", "officer_notes", "case_notes", "bsn",
                          "given_name", "surname", "birth_date", "street"}


def test_a_rerun_pulls_incrementally_and_lands_nothing_twice(resources):
    _land(resources)
    before = _count(resources, "select count(*) from landing.dji__detentions")[0][0]
    _land(resources)
    after = _count(resources, "select count(*) from landing.dji__detentions")[0][0]
    assert after == before
    latest = _count(resources, "select received, staged, unchanged, rejected from "
                               "landing._batches where dataset = 'detentions' "
                               "order by received_at desc limit 1")
    received, staged, unchanged, rejected = latest[0]
    # Only the cursor's boundary comes again: known versions, unchanged, not refused.
    assert received > 0 and (staged, unchanged, rejected) == (0, received, 0)
    assert _count(resources, "select count(*) from landing._rejections r join "
                             "landing._batches b using (batch_id) where b.dataset = "
                             "'detentions'")[0][0] == 0


def test_wrong_credential_is_a_clear_error_naming_the_source(server):
    connector = CONNECTORS["dji"](HttpSettings(base_url=server.base_urls["dji"],
                                               credential="not-the-token", max_retries=0))
    from ketenbrug.connectors import SourceError
    with pytest.raises(SourceError, match=r"dji: GET /api/v1/detentions refused \(403\)"):
        connector.pull("detentions")
