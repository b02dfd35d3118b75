"""Every fault knob of the source world, through the real landing assets and contracts.

Each fault ends in one of three ways, and never in loss: the batch is quarantined with
a verdict naming the rule and exactly the records the fault touched; the records are
rejected with a reason (duplicates); or the source recovers and everything lands once.
"""

from __future__ import annotations

import duckdb
import pytest
from dagster import materialize

from ketenbrug.connectors import all_datasets
from ketenbrug.pipelines.assets.landing import LANDING_ASSETS
from ketenbrug.pipelines.checks.landing_checks import LANDING_CHECKS
from ketenbrug.pipelines.resources import HubStorage, SourceSystem
from ketenbrug.simulators import generate_world

DATASETS = [m.table.replace("__", ".") for m in all_datasets()]
WITH_BSN = ["probation.clients", "dji.detentions", "wijkteam.involvements", "care.episodes"]
IDENTITY_RULE = "identity.well_formed"
# (fault, dataset) -> the rule that must quarantine it; None: it lands (value intact).
EXPECTED_RULE = {
    "invalid_bsn": dict.fromkeys(WITH_BSN, "bsn_passes_eleven_test"),
    "future_date": {
        "probation.clients": IDENTITY_RULE, "probation.orders": "updated_at.not_in_future",
        "dji.detentions": "admission_date.not_in_future",
        "wijkteam.involvements": "involved_since.not_in_future",
        "care.episodes": "updated_at.not_in_future",
        "municipal_orders.agreements": "updated_at.not_in_future",
        "municipal_orders.bookings": "booking_date.not_in_future"},
    **{fault: {
        "probation.clients": IDENTITY_RULE, "dji.detentions": IDENTITY_RULE,
        "wijkteam.involvements": IDENTITY_RULE, "probation.orders": "status_in_allowed_set",
        "care.episodes": rule, "municipal_orders.agreements": rule_agreements,
        "municipal_orders.bookings": "activity_in_allowed_set"}
       for fault, rule, rule_agreements in [
           ("csv_formula", "managing_org_name.safe_text", "description.safe_text"),
           # An SQL-injection string is only text to a hub that binds every value: in a
           # free-text field it lands verbatim and harms nothing.
           ("sql_injection", None, None),
           ("oversized", "managing_org_name.max_length", "description.max_length")]},
    **{fault: dict.fromkeys(DATASETS, "schema_drift.no_missing_fields")
       for fault in ("drift_renamed", "drift_missing")},
    "drift_type": {
        "probation.clients": "risc_level_in_allowed_set", "probation.orders": "end_date.type_date",
        "dji.detentions": "expected_release_date.type_date",
        "wijkteam.involvements": "involved_since.type_date",
        "care.episodes": "status_in_allowed_set",
        # a number served as text, or decimal text as a number: the value lands intact
        "municipal_orders.agreements": None, "municipal_orders.bookings": None},
}


@pytest.fixture(scope="module")
def world():
    return generate_world(clients=200, seed=5)


def _land_all(server, tmp_path, spec: str):
    report = server.set_faults(spec)
    hub = HubStorage(warehouse_path=str(tmp_path / "w.duckdb"),
                     vault_path=str(tmp_path / "v.duckdb"), keys_dir=str(tmp_path / "keys"),
                     outbox_dir=str(tmp_path / "o"), disclosure_log=str(tmp_path / "a.jsonl"))
    # Fast retries and a short read timeout keep the test quick; the policy is the same.
    sources = {f"source_{slug}": SourceSystem(slug=slug, base_url=url,
                                              credential=server.credentials[slug],
                                              backoff_factor_s=0.01, read_timeout_s=0.3)
               for slug, url in server.base_urls.items()}
    try:
        result = materialize([*LANDING_ASSETS, *LANDING_CHECKS],
                             resources={"hub": hub, **sources}, raise_on_error=False)
    finally:
        server.set_faults("")
    with duckdb.connect(hub.warehouse_path, read_only=True) as con:
        ledger = {f"{s}.{d}": (status, verdict or "", received, staged, quarantined, rejected)
                  for s, d, status, verdict, received, staged, quarantined, rejected in
                  con.execute("select source, dataset, status, verdict, received, staged, "
                              "quarantined, rejected from landing._batches").fetchall()}
    return result, ledger, report


@pytest.fixture(scope="module")
def clean(server, tmp_path_factory):
    """What lands when no fault is served: the baseline every recovery must match."""
    return _land_all(server, tmp_path_factory.mktemp("clean"), "")[1]


def _spec(fault: str, datasets) -> str:
    return ",".join(f"{d}:{fault}=2" for d in datasets)


@pytest.mark.parametrize("fault", sorted(EXPECTED_RULE))
def test_data_fault_is_quarantined_by_rule_and_record_or_lands_intact(server, tmp_path, fault):
    expected = EXPECTED_RULE[fault]
    result, ledger, report = _land_all(server, tmp_path, _spec(fault, expected))
    for dataset, rule in expected.items():
        status, verdict, received, staged, quarantined, rejected = ledger[dataset]
        assert received == staged + quarantined + rejected, dataset  # nothing lost
        touched = report[dataset][fault]
        if rule is None:
            assert status == "passed", (dataset, verdict)
            continue
        assert status == "quarantined", (dataset, verdict)
        assert f"rule {rule} " in verdict, (dataset, verdict)
        assert all(key in verdict for key in touched), (dataset, verdict)
    assert all(e.passed for e in result.get_asset_check_evaluations()
               if e.check_name == "accounting")


def test_duplicates_are_rejected_with_a_reason_and_the_batch_goes_on(server, tmp_path):
    _, ledger, _ = _land_all(server, tmp_path, _spec("duplicate", DATASETS))
    for dataset in DATASETS:
        status, _, received, staged, _, rejected = ledger[dataset]
        assert status == "passed" and rejected == 2 and staged == received - 2, dataset
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        reasons = {r for (r,) in con.execute("select reason from landing._rejections").fetchall()}
    assert reasons == {"same version twice in this batch"}


def test_an_extra_field_is_dropped_and_counted_by_name(server, tmp_path):
    result, ledger, _ = _land_all(server, tmp_path, _spec("drift_extra", DATASETS))
    assert all(row[0] == "passed" for row in ledger.values())
    dropped = {m.asset_key.to_user_string(): m.metadata["fields_dropped"].value
               for m in (e.event_specific_data.materialization
                         for e in result.get_asset_materialization_events())}
    assert dropped["landing/dji__detentions"]["phone_number"] == 2
    # probation is asked for permitted fields only, so the extra one is never even sent
    assert "phone_number" not in dropped["landing/probation__clients"]


# Every transport knob, spread over the sources so that two runs drive them all.
@pytest.mark.parametrize("spec", [
    "probation:429=0x2,dji:503x2,wijkteam:dropx2,care:slow=0.5,municipal_orders:truncated",
    "probation:page_twice,dji:page_twice,wijkteam:500x2,care:malformed,"
    "municipal_orders:page_twice",
])
def test_transport_faults_are_survived_and_everything_lands_once(server, clean, tmp_path, spec):
    faulty_result, faulty, _ = _land_all(server, tmp_path, spec)
    assert faulty_result.success, spec
    for dataset in DATASETS:
        assert faulty[dataset][3] == clean[dataset][3], dataset  # same records staged


def test_a_source_that_keeps_failing_lands_nothing_and_the_rerun_resumes(server, tmp_path):
    failed, ledger, _ = _land_all(server, tmp_path, "dji:500x*")
    assert not failed.success and "dji.detentions" not in ledger  # nothing half-landed
    rerun, ledger, _ = _land_all(server, tmp_path, "")
    assert rerun.success
    assert ledger["dji.detentions"][3] == ledger["dji.detentions"][2]  # all staged, once
