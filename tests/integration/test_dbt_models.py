"""The dbt project builds green on a small synthetic warehouse and its marts say the right things.

The warehouse is built by the hub's own code (ketenbrug.warehouse: the landing tables and
ledger exactly as a run makes them), filled with a handful of fake records (pseudonyms
like 'p_0001', no BSNs, no names), and `dbt build` (models, data tests, unit tests) runs
in-process with dbtRunner.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ketenbrug import warehouse
from ketenbrug.connectors import all_datasets
from ketenbrug.project_files import DBT_PROJECT_DIR as DBT_DIR
from ketenbrug.warehouse.schema import BATCHES as BATCHES_TABLE
from ketenbrug.warehouse.schema import DOMAIN_PSEUDONYMS as DOMAIN_PSEUDONYMS_TABLE
from ketenbrug.warehouse.schema import BatchStatus

AS_OF = "2026-06-01"
_CONDITIONS = ("valid_id", "housing", "income", "debts", "care")


def _conditions(prefix_date: str, **statuses: str) -> dict[str, str]:
    row = {}
    for condition in _CONDITIONS:
        if condition in statuses:
            row[f"{condition}_status"] = statuses[condition]
            row[f"{condition}_as_of"] = prefix_date
    return row


# Batches: b_pass and b_rel are published; b_quar is quarantined and must never be read.
BATCHES = {"b_pass": BatchStatus.PASSED, "b_rel": BatchStatus.RELEASED,
           "b_quar": BatchStatus.QUARANTINED, "b_drop": BatchStatus.DROPPED}

RECORDS: dict[str, list[dict]] = {
    "probation__clients": [
        # An older version (other municipality), then the current one.
        {"_batch_id": "b_pass", "client_id": "RN-000001", "person_pseudonym": "p_0001",
         "organisation": "RN", "residence_municipality_code": "GM0014", "risc_level": "low",
         "contact_point": "team-noord@rn.example", "updated_at": "2026-03-01T08:00:00Z"},
        {"_batch_id": "b_rel", "client_id": "RN-000001", "person_pseudonym": "p_0001",
         "organisation": "RN", "residence_municipality_code": "GM0363", "risc_level": "medium",
         "contact_point": "team-oost@rn.example", "updated_at": "2026-05-01T08:00:00Z"},
        {"_batch_id": "b_pass", "client_id": "SVG-000002", "person_pseudonym": "p_0002",
         "organisation": "SVG", "residence_municipality_code": "GM0034", "risc_level": "high",
         "contact_point": "team-almere@svg.example", "updated_at": "2026-05-02T08:00:00Z"},
        {"_batch_id": "b_pass", "client_id": "LJR-000004", "person_pseudonym": "p_0004",
         "organisation": "LJR", "residence_municipality_code": "GM0363", "risc_level": None,
         "contact_point": "team-a@ljr.example", "updated_at": "2026-05-03T08:00:00Z"},
        # Only in a quarantined batch: never staged.
        {"_batch_id": "b_quar", "client_id": "RN-000003", "person_pseudonym": "p_0003",
         "organisation": "RN", "residence_municipality_code": "GM0014", "risc_level": "low",
         "contact_point": "team-noord@rn.example", "updated_at": "2026-05-04T08:00:00Z"},
    ],
    "probation__orders": [
        {"order_id": "RN-O-0000001", "client_id": "RN-000001", "organisation": "RN",
         "order_type": "toezicht", "status": "active", "start_date": "2025-06-20",
         "end_date": "2026-06-20", "conditions": '["meldplicht","drugsverbod"]'},
        {"order_id": "RN-O-0000002", "client_id": "RN-000001", "organisation": "RN",
         "order_type": "werkstraf", "status": "active", "start_date": "2026-02-01",
         "end_date": "2026-08-01", "hours_ordered": "80", "hours_served": "20"},
        {"order_id": "SVG-O-0000003", "client_id": "SVG-000002", "organisation": "SVG",
         "order_type": "toezicht", "status": "active", "start_date": "2025-09-01",
         "end_date": "2026-09-01", "conditions": '["behandelverplichting"]'},
        {"order_id": "LJR-O-0000004", "client_id": "LJR-000004", "organisation": "LJR",
         "order_type": "werkstraf", "status": "waiting", "start_date": "2026-07-01",
         "end_date": "2026-12-01", "hours_ordered": "40", "hours_served": "0"},
    ],
    "dji__detentions": [
        # Released in the window, to Almere; the neighbourhood team later says housing is arranged.
        {"registration_number": "DJI-0000001", "person_pseudonym": "p_0002",
         "prison_code": "PI-ALMELO", "admission_date": "2026-01-10",
         "expected_release_date": "2026-06-15", "settlement_municipality_code": "GM0034",
         **_conditions("2026-05-01", valid_id="arranged", housing="not_arranged",
                       income="unknown", debts="not_arranged", care="not_arranged")},
        # A short detention in the window: handed over by the prison service directly.
        {"registration_number": "DJI-0000002", "person_pseudonym": "p_0005",
         "prison_code": "PI-ALMELO", "admission_date": "2026-05-20",
         "expected_release_date": "2026-06-05", "settlement_municipality_code": "GM0363"},
        # Outside the window, after and before.
        {"registration_number": "DJI-0000003", "person_pseudonym": "p_0006",
         "prison_code": "PI-ALMELO", "admission_date": "2026-01-01",
         "expected_release_date": "2026-08-30", "settlement_municipality_code": "GM0363"},
        {"registration_number": "DJI-0000004", "person_pseudonym": "p_0007",
         "prison_code": "PI-ALMELO", "admission_date": "2026-01-01",
         "expected_release_date": "2026-05-20", "actual_release_date": "2026-05-20",
         "settlement_municipality_code": "GM0363"},
    ],
    "wijkteam__involvements": [
        {"involvement_id": "WT-GM0034-000001", "person_pseudonym": "p_0002",
         "municipality_code": "GM0034", "involved_since": "2026-04-01",
         "domains": '["housing","income"]', "contact_point": "wijkteam@almere.example",
         **_conditions("2026-05-20", housing="arranged")},
    ],
    "care__episodes": [
        {"episode_id": "eoc-1", "person_pseudonym": "p_0002", "status": "active",
         "category": "addiction", "period_start": "2026-01-01",
         "managing_org_agb": "00000000", "managing_org_name": "Zorg Voorbeeld"},
    ],
    "municipal_orders__agreements": [
        {"agreement_id": "MA-GM0363-01", "municipality_code": "GM0363", "organisation": "RN",
         "description": "outreach", "tariff_cents_per_hour": "4565", "cap_hours": "10",
         "start_date": "2026-01-01", "end_date": "2026-12-31"},
    ],
    "municipal_orders__bookings": [
        {"booking_id": "MB-0000001", "agreement_id": "MA-GM0363-01", "organisation": "RN",
         "booking_date": "2026-02-03", "hours": "2.25", "activity": "outreach"},
        {"booking_id": "MB-0000002", "agreement_id": "MA-GM0363-01", "organisation": "RN",
         "booking_date": "2026-02-17", "hours": "2.25", "activity": "training"},
    ],
}

DOMAIN_PSEUDONYMS = [
    ("p_0001", "RN", "rn_a1"), ("p_0002", "SVG", "svg_b2"), ("p_0004", "LJR", "ljr_d4"),
    ("p_0001", "steering", "st_a1"), ("p_0002", "steering", "st_b2"),
]


def _build_warehouse(path: Path) -> None:
    """Land RECORDS batch by batch with the hub's landing code, then give each batch its
    status as the contract check or a steward would."""
    received = datetime(2026, 5, 31, 6, 0)
    with warehouse.connect(path) as con:
        for manifest in all_datasets():
            warehouse.ensure_landing(con, manifest)
            by_batch: dict[str, list[dict]] = {}
            for number, record in enumerate(RECORDS.get(manifest.table, [])):
                row = {"_batch_id": "b_pass", "_payload_hash": f"h{number}",
                       "is_bsn_present": True, "is_bsn_valid": True,
                       "updated_at": "2026-05-01T00:00:00Z", **record}
                by_batch.setdefault(row.pop("_batch_id"), []).append(row)
            for batch, rows in by_batch.items():
                batch_id = f"{manifest.table}-{batch}"
                warehouse.land_batch(con, manifest, rows, batch_id=batch_id,
                                     received_at=received, fields_dropped=0, cursor=None)
                con.execute(f"update {BATCHES_TABLE} set status = ? where batch_id = ?",
                            [BATCHES[batch].value, batch_id])
        con.execute("create schema if not exists privacy")
        con.execute(f"create table {DOMAIN_PSEUDONYMS_TABLE} "
                    "(person_pseudonym varchar, domain varchar, domain_pseudonym varchar)")
        con.executemany(f"insert into {DOMAIN_PSEUDONYMS_TABLE} values (?, ?, ?)",
                        DOMAIN_PSEUDONYMS)


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory):
    """A synthetic warehouse after a green `dbt build`; returns (path, dbt result)."""
    from dbt.cli.main import dbtRunner

    tmp = tmp_path_factory.mktemp("dbt")
    warehouse_path = tmp / "warehouse.duckdb"
    _build_warehouse(warehouse_path)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KETENBRUG_WAREHOUSE", str(warehouse_path))
        env.setenv("DBT_PROFILES_DIR", str(DBT_DIR))
        env.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        result = dbtRunner().invoke([
            "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
            "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"),
            "--vars", json.dumps({"as_of_date": AS_OF}), "--quiet",
        ])
    return warehouse_path, result


def _query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse))  # same config as dbt-duckdb, which may still hold it
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_dbt_build_is_green_including_unit_tests(built_warehouse):
    _, result = built_warehouse
    assert result.success, result.exception
    statuses = {(r.node.resource_type, str(r.status)) for r in result.result}
    assert ("unit_test", "pass") in statuses
    done = ("success", "pass", "no-op")  # exposures report no-op
    failing = [r.node.name for r in result.result if str(r.status) not in done]
    assert failing == []


def test_staging_reads_published_batches_and_latest_versions(built_warehouse):
    warehouse, _ = built_warehouse
    rows = _query(warehouse, "select client_id, residence_municipality_code, risc_level "
                             "from main.stg_probation__clients order by client_id")
    assert rows == [("LJR-000004", "GM0363", None), ("RN-000001", "GM0363", "medium"),
                    ("SVG-000002", "GM0034", "high")]


def test_warm_handover_holds_the_in_window_events_only(built_warehouse):
    warehouse, _ = built_warehouse
    rows = _query(warehouse, """
        select person_pseudonym, event_type, expected_date::varchar, municipality_code,
               handover_route, institution
        from main.warm_handover order by expected_date""")
    assert rows == [
        ("p_0005", "release", "2026-06-05", "GM0363", "prison_direct", "PI-ALMELO"),
        ("p_0002", "release", "2026-06-15", "GM0034", "probation", "PI-ALMELO"),
        ("p_0001", "supervision_end", "2026-06-20", "GM0363", "probation", "RN"),
    ]


def test_warm_handover_reports_conditions_care_and_team(built_warehouse):
    warehouse, _ = built_warehouse
    [row] = _query(warehouse, """
        select valid_id_status, housing_status, income_status, debts_status, care_status,
               missing_conditions_count, needs_care_handover, has_wijkteam_involvement,
               contact_point
        from main.warm_handover where person_pseudonym = 'p_0002'""")
    # Housing: the neighbourhood team's later 'arranged' is acted on.
    assert row == ("arranged", "arranged", "unknown", "not_arranged", "not_arranged", 3, True,
                   True, "team-almere@svg.example")


def test_client_profiles_are_keyed_by_domain_pseudonyms(built_warehouse):
    warehouse, _ = built_warehouse
    rows = _query(warehouse, """
        select client_pseudonym, organisation, active_orders_count, supervision_conditions,
               community_service_hours_ordered, detention_status, housing_status,
               housing_is_disputed, care_category
        from main.client_profiles order by client_pseudonym""")
    assert rows == [
        ("ljr_d4", "LJR", 0, None, None, "none", "unknown", False, None),
        ("rn_a1", "RN", 2, "drugsverbod,meldplicht", 80, "none", "unknown", False, None),
        ("svg_b2", "SVG", 1, "behandelverplichting", None, "detained", "arranged", True,
         "addiction"),
    ]


def test_every_relation_name_fits_a_postgres_identifier(built_warehouse):
    # PostgreSQL truncates names over 63 bytes and dbt refuses them (unit tests build a
    # relation named after the test): the same project must build there too.
    warehouse, _ = built_warehouse
    manifest = json.loads((warehouse.parent / "target" / "manifest.json").read_text())
    names = [n["name"] for n in [*manifest["nodes"].values(), *manifest["unit_tests"].values()]
             if n["resource_type"] in ("model", "seed", "unit_test")]
    assert names and not [n for n in names if len(n) > 63]


def test_client_orders_show_each_open_order_of_the_organisations_own_clients(built_warehouse):
    warehouse, _ = built_warehouse
    rows = _query(warehouse, """
        select client_pseudonym, organisation, order_type, order_status,
               cast(start_date as varchar), cast(end_date as varchar)
        from main.client_orders order by client_pseudonym, order_type""")
    assert rows == [
        ("ljr_d4", "LJR", "werkstraf", "waiting", "2026-07-01", "2026-12-01"),
        ("rn_a1", "RN", "toezicht", "active", "2025-06-20", "2026-06-20"),
        ("rn_a1", "RN", "werkstraf", "active", "2026-02-01", "2026-08-01"),
        ("svg_b2", "SVG", "toezicht", "active", "2025-09-01", "2026-09-01"),
    ]


def test_volume_monitor_suppresses_every_small_cell(built_warehouse):
    warehouse, _ = built_warehouse
    rows = _query(warehouse, "select count(*), bool_and(is_suppressed), "
                             "count(inflow_persons) from main.volume_monitor")
    assert rows == [(4, True, 0)]


def test_billing_statement_bills_quarter_hours_in_whole_cents(built_warehouse):
    warehouse, _ = built_warehouse
    rows = _query(warehouse, """
        select billing_month_date::varchar, hours_booked::varchar, amount_cents,
               cap_used_pct::varchar
        from main.billing_statements""")
    assert rows == [("2026-02-01", "4.50", 20543, "45.00")]


def test_statutory_priority_guard_sets_the_backlog_beside_municipal_hours(built_warehouse):
    warehouse, _ = built_warehouse
    # The waiting community service (Amsterdam, VR13) last changed on 1 May: waiting in May
    # and June (as of 1 June). The hours were booked in February, before any known backlog.
    rows = _query(warehouse, """
        select safety_region, month_date::varchar, has_statutory_backlog,
               statutory_waiting_orders, municipal_hours_booked::varchar,
               is_municipal_work_during_backlog, is_suppressed
        from main.statutory_priority_guard order by month_date""")
    assert rows == [
        ("VR13", "2026-02-01", False, 0, "4.50", False, False),
        ("VR13", "2026-05-01", True, None, "0.00", False, True),
        ("VR13", "2026-06-01", True, None, "0.00", False, True),
    ]
