"""Schedules per source and the DJI sensor that reacts to releases between pulls."""

from dagster import RunRequest, SkipReason, build_sensor_context, materialize

from ketenbrug.pipelines.assets.landing import LANDING_ASSETS
from ketenbrug.pipelines.definitions import defs
from ketenbrug.pipelines.resources import HubStorage, SourceSystem
from ketenbrug.pipelines.schedules import dji_changes
from ketenbrug.simulators import WorldServer, generate_world


def test_every_source_has_a_schedule_and_the_hub_runs_daily():
    names = {s.name for s in defs.schedules}
    assert {"pull_probation", "pull_dji", "pull_wijkteam", "pull_care",
            "pull_municipal_orders", "hub_daily"} <= names


def test_dji_sensor_requests_a_pull_only_when_detentions_changed(tmp_path):
    world = generate_world(clients=120, seed=3)
    hub = HubStorage(warehouse_path=str(tmp_path / "w.duckdb"),
                     vault_path=str(tmp_path / "v.duckdb"), keys_dir=str(tmp_path / "keys"),
                     outbox_dir=str(tmp_path / "o"), disclosure_log=str(tmp_path / "a.jsonl"))
    with WorldServer(world) as server:
        dji = SourceSystem(slug="dji", base_url=server.base_urls["dji"],
                           credential=server.credentials["dji"])
        resources = {"hub": hub, "source_dji": dji}
        with build_sensor_context(resources=resources) as context:
            first = dji_changes(context)
        assert isinstance(first, RunRequest)
        detentions = [a for a in LANDING_ASSETS if "dji__" in a.key.to_user_string()]
        assert materialize(detentions, resources=resources).success
        with build_sensor_context(resources=resources) as context:
            after_pull = dji_changes(context)
        assert isinstance(after_pull, SkipReason)
