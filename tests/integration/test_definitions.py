"""A snapshot of the asset graph: an accidental change to it shows up here."""

from dagster import AssetKey

from pipelines.definitions import defs

LANDING = [
    "landing/care__episodes", "landing/dji__detentions", "landing/municipal_orders__agreements",
    "landing/municipal_orders__bookings", "landing/probation__clients",
    "landing/probation__orders", "landing/wijkteam__involvements",
]
MARTS = ["client_profiles", "warm_handover", "volume_monitor", "billing_statements"]


def _keys():
    return {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}


def test_every_source_dataset_lands_with_a_blocking_contract_check():
    keys = _keys()
    assert set(LANDING) <= keys
    checks = {(c.asset_key.to_user_string(), c.name): c
              for c in defs.resolve_asset_graph().asset_check_keys}
    for landing in LANDING:
        assert (landing, "contract") in checks


def test_marts_privacy_and_delivery_are_in_the_graph():
    keys = _keys()
    assert set(MARTS) <= keys
    assert {"privacy/domain_pseudonyms", "delivery/warm_handover_packages"} <= keys


def test_delivery_reads_the_handover_mart_and_marts_read_only_checked_landing():
    graph = defs.resolve_asset_graph()
    delivery = graph.get(AssetKey(["delivery", "warm_handover_packages"]))
    assert AssetKey(["warm_handover"]) in delivery.parent_keys
    upstream = graph.get(AssetKey(["billing_statements"])).parent_keys
    assert all("municipal_orders" in k.to_user_string() for k in upstream)
