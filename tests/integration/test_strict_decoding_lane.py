"""A source that sends bytes invalid in the charset it declares fails its own pull, at
once and by name (source, path and query, byte offset), while the other sources land."""

from __future__ import annotations

import re

import duckdb
import pytest
from dagster import materialize

from ketenbrug.pipelines.assets.landing import LANDING_ASSETS
from ketenbrug.pipelines.resources import SourceSystem
from ketenbrug.simulators import generate_world

LANES = {"landing/care__episodes", "landing/dji__detentions"}


@pytest.fixture(scope="module")
def world():
    return generate_world(clients=40, seed=11)


def test_a_mis_encoded_source_fails_by_name_and_the_others_land(server, hub_storage):
    server.set_faults("care:mis_encodedx*")  # every request: a retry would not mend it
    sources = {f"source_{slug}": SourceSystem(slug=slug, base_url=server.base_urls[slug],
                                              credential=server.credentials[slug],
                                              backoff_factor_s=0.01)
               for slug in ("care", "dji")}
    try:
        result = materialize(
            [a for a in LANDING_ASSETS if a.key.to_user_string() in LANES],
            resources={"hub": hub_storage, **sources}, raise_on_error=False)
        served = server.served_faults()["care"]
    finally:
        server.set_faults("")

    (failure,) = result.get_step_failure_events()
    error = failure.event_specific_data.error
    text = error.to_string() if error else ""
    assert re.search(r"care: GET /fhir/EpisodeOfCare\?_count=100&_include=EpisodeOfCare:"
                     r"patient body is not valid UTF-8 at byte \d+", text), text[-2000:]
    assert len(served) == 1  # failed fast: the same bytes are not asked for again
    landed = {m.asset_key.to_user_string() for m in
              (e.event_specific_data.materialization
               for e in result.get_asset_materialization_events())}
    assert landed == {"landing/dji__detentions"}
    with duckdb.connect(hub_storage.warehouse_path, read_only=True) as con:
        batches = con.execute("select source, received from landing._batches").fetchall()
    assert [source for source, _ in batches] == ["dji"] and batches[0][1] > 0
