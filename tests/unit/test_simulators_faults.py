"""Fault specs parse as API.md says, and data faults alter exactly the records they report."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ketenbrug.simulators import FaultSpec, generate_world, is_valid_bsn
from ketenbrug.simulators.faults import DATA_FAULTS, TransportFaults
from ketenbrug.simulators.handlers import served_data
from ketenbrug.simulators.tampering import (
    DRIFT_FIELDS,
    EXTRA_FIELD,
    OVERSIZED_CHARS,
    SQL_INJECTIONS,
    tamper,
)

TODAY = date(2026, 11, 29)


@pytest.fixture(scope="module")
def world():
    return generate_world(clients=600, seed=9, today=TODAY)


def _served(world, name, spec):
    slug, dataset = name.split(".")
    records = served_data(world)[slug][dataset]
    faults = tuple(f for f in FaultSpec.parse(spec).data(slug) if dataset in f.datasets())
    return records, *tamper(name, records, faults, TODAY, world.seed)


def _by_key(records, key):
    return {r[key]: r for r in records}


def test_grammar_reads_transport_and_data_faults():
    spec = FaultSpec.parse(
        "dji:429x2, care:malformed,probation:invalid_bsn=5,probation.orders:drift_extra=*,"
        "wijkteam:slow=0.5x*,municipal_orders.bookings:429=0"
    )
    first, malformed, invalid, drift, slow, quick = spec.faults
    assert (first.source, first.kind, first.times, first.value) == ("dji", "429", 2, 1.0)
    assert (malformed.kind, malformed.times) == ("malformed", 1)
    assert (invalid.kind, invalid.count, invalid.datasets()) == ("invalid_bsn", 5, ("clients",))
    assert (drift.dataset, drift.count) == ("orders", None)
    assert (slow.value, slow.times) == (0.5, None)
    assert (quick.dataset, quick.value) == ("bookings", 0.0)
    assert FaultSpec.parse(str(spec)) == spec  # the canonical text reads back the same
    assert spec.transport("dji") == (first,)
    assert spec.data("probation") == (invalid, drift)


@pytest.mark.parametrize("text", ["", " ", None, ",,"])
def test_empty_spec_injects_nothing(text):
    assert FaultSpec.parse(text).faults == ()


@pytest.mark.parametrize(
    "text",
    [
        "dji:teapot", "prison:429", "probation.detentions:500", "dji:500=3", "dji:duplicate=2x3",
        "dji:429=1.5", "dji:429=*", "dji:500x0", "dji:duplicate=0", "dji 429",
        "probation.orders:invalid_bsn", "municipal_orders:invalid_bsn=2", "dji:slow=fast",
    ],
)
def test_grammar_refuses_what_it_cannot_serve(text):
    with pytest.raises(ValueError):
        FaultSpec.parse(text)


def test_transport_faults_are_served_in_order_then_stop():
    state = TransportFaults(FaultSpec.parse("dji:429x2,dji:503,dji:page_twice").faults)
    kinds = [getattr(state.take("detentions", "/p", later_page=False), "kind", None)
             for _ in range(4)]
    assert kinds == ["429", "429", "503", None]  # page_twice waits for a later page
    assert state.take("detentions", "/p", later_page=True).kind == "page_twice"
    assert state.take("detentions", "/p", later_page=True) is None
    assert [kind for kind, _ in state.served] == ["429", "429", "503", "page_twice"]


def test_a_dataset_qualified_fault_leaves_the_other_dataset_alone():
    state = TransportFaults(FaultSpec.parse("probation.orders:500x*").faults)
    assert state.take("clients", "/c", later_page=False) is None
    assert state.take("orders", "/o", later_page=False).kind == "500"
    assert state.take("orders", "/o", later_page=False).kind == "500"


@pytest.mark.parametrize("kind", [k for k in DATA_FAULTS if k != "invalid_bsn"])
def test_data_faults_are_deterministic_and_leave_the_world_alone(world, kind):
    before = json.dumps(world.detentions)
    _, first, touched = _served(world, "dji.detentions", f"dji:{kind}=4")
    _, second, again = _served(world, "dji.detentions", f"dji:{kind}=4")
    assert first == second and touched == again
    assert len(touched[kind]) == 4
    assert json.dumps(world.detentions) == before


def test_invalid_bsn_breaks_exactly_the_reported_records(world):
    records, served, touched = _served(world, "care.episodes", "care:invalid_bsn=7")
    bad = {r["id"] for r in served if not is_valid_bsn(r["patient"]["identifier"]["value"])}
    assert bad == set(touched["invalid_bsn"]) and len(bad) == 7
    assert all(is_valid_bsn(r["patient"]["identifier"]["value"]) for r in records)


def test_duplicates_are_served_twice(world):
    records, served, touched = _served(world, "municipal_orders.bookings",
                                       "municipal_orders.bookings:duplicate=3")
    assert len(served) == len(records) + 3
    keys = [r["booking_id"] for r in served]
    assert sorted(k for k in set(keys) if keys.count(k) == 2) == touched["duplicate"]


def test_future_dates_lie_after_today(world):
    _, served, touched = _served(world, "probation.clients", "probation.clients:future_date=5")
    future = {r["client_id"] for r in served if r["birth_date"] > TODAY.isoformat()}
    assert future == set(touched["future_date"])


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("csv_formula", lambda v: v[0] in "=+-@"),
        ("sql_injection", lambda v: v in SQL_INJECTIONS),  # "in 't Veld" has a quote too
        ("oversized", lambda v: len(v) > OVERSIZED_CHARS),
    ],
)
def test_text_payloads_land_in_a_taken_text_field(world, kind, check):
    _, served, touched = _served(world, "wijkteam.involvements", f"wijkteam:{kind}=3")
    hit = {r["involvement_id"] for r in served if check(r["surname"])}
    assert hit == set(touched[kind])


@pytest.mark.parametrize("name", sorted(DRIFT_FIELDS))
def test_schema_drift_renames_drops_retypes_and_adds(world, name):
    field, renamed = DRIFT_FIELDS[name]
    slug = name.split(".")[0]
    spec = ",".join(f"{name}:{k}=2" for k in
                    ("drift_renamed", "drift_missing", "drift_type", "drift_extra"))
    records, served, touched = _served(world, name, spec)
    key = next(k for k in records[0] if k.endswith("_id") or k in ("id", "registration_number"))
    served_by_key = _by_key(served, key)
    original = _by_key(records, key)
    for k in touched["drift_renamed"]:
        assert field not in served_by_key[k] and renamed in served_by_key[k]
    for k in touched["drift_missing"]:
        assert field not in served_by_key[k] and renamed not in served_by_key[k]
    for k in touched["drift_type"]:
        assert type(served_by_key[k][field]) is not type(original[k][field])
    for k in touched["drift_extra"]:
        assert EXTRA_FIELD in served_by_key[k]
    assert len({k for ks in touched.values() for k in ks}) == 8, slug  # never twice


def test_star_alters_every_record(world):
    spec = "probation.orders:drift_missing=*"
    records, served, touched = _served(world, "probation.orders", spec)
    assert len(touched["drift_missing"]) == len(records)
    assert all("end_date" not in r for r in served)
