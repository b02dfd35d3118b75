"""A snapshot of the asset graph: an accidental change to it shows up here."""

from dagster import AssetKey

from ketenbrug.pipelines.definitions import defs

LANDING = [
    "landing/care__episodes", "landing/dji__detentions", "landing/municipal_orders__agreements",
    "landing/municipal_orders__bookings", "landing/probation__clients",
    "landing/probation__orders", "landing/wijkteam__involvements",
]
MARTS = ["client_profiles", "client_orders", "warm_handover", "volume_monitor",
         "billing_statements", "statutory_priority_guard"]
INTERMEDIATE = ["int_clients_spine", "int_basic_conditions_history", "int_basic_conditions_latest",
                "int_handover_events", "int_statutory_backlog_by_region_month",
                "int_municipal_hours_by_region_month"]
DELIVERY = ["delivery/warm_handover_packages", "delivery/billing_statements_delivery"]
# The billable lineage, in its own groups in the UI.
MUNICIPAL_GROUPS = {
    "landing/municipal_orders__agreements": "municipal_orders",
    "landing/municipal_orders__bookings": "municipal_orders",
    "stg_municipal_orders__agreements": "municipal_orders",
    "stg_municipal_orders__bookings": "municipal_orders",
    "int_municipal_hours_by_region_month": "municipal_funded",
    "billing_statements": "municipal_funded",
    "delivery/billing_statements_delivery": "municipal_funded",
}


def _keys():
    return {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}


def test_every_source_dataset_lands_with_its_contract_and_a_blocking_accounting_check():
    keys = _keys()
    assert set(LANDING) <= keys
    graph = defs.resolve_asset_graph()
    specs = {(key.asset_key.to_user_string(), key.name): graph.get_check_spec(key)
             for key in graph.asset_check_keys}
    for landing in LANDING:
        # A failing contract quarantines its batch and holds back nothing else; a ledger
        # that does not reconcile stops everything downstream of the dataset.
        assert not specs[(landing, "contract")].blocking
        assert specs[(landing, "accounting")].blocking


def test_marts_privacy_and_delivery_are_in_the_graph():
    keys = _keys()
    assert set(MARTS) | set(INTERMEDIATE) | set(DELIVERY) <= keys
    assert "privacy/domain_pseudonyms" in keys


def test_the_billable_lineage_has_its_own_groups_funding_stream_and_guard():
    graph = defs.resolve_asset_graph()
    for key, group in MUNICIPAL_GROUPS.items():
        node = graph.get(AssetKey.from_user_string(key))
        assert node.group_name == group, key
        assert node.metadata["funding_stream"] == "municipal", key
    assert graph.get(AssetKey(["client_profiles"])).metadata["funding_stream"] == "statutory"
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("billing_statements", "lineage_separation") in checks
    delivery = graph.get(AssetKey(["delivery", "billing_statements_delivery"]))
    assert delivery.parent_keys == {AssetKey(["billing_statements"])}


def test_delivery_reads_the_handover_mart_and_marts_read_only_checked_landing():
    graph = defs.resolve_asset_graph()
    delivery = graph.get(AssetKey(["delivery", "warm_handover_packages"]))
    assert AssetKey(["warm_handover"]) in delivery.parent_keys
    upstream = graph.get(AssetKey(["billing_statements"])).parent_keys
    assert all("municipal_orders" in k.to_user_string() for k in upstream)


def test_every_mart_has_a_blocking_purpose_lineage_check():
    graph = defs.resolve_asset_graph()
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert {(mart, "purpose_lineage") for mart in MARTS} <= checks
    delivery = graph.get(AssetKey(["delivery", "warm_handover_packages"]))
    assert AssetKey(["warm_handover"]) in delivery.parent_keys
