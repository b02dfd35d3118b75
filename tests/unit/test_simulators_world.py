"""Ground truth, deliberately invalid BSNs, and a world that moves on day by day."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import date, timedelta

import pytest

from ketenbrug.simulators import generate_world, is_valid_bsn, read_ground_truth
from ketenbrug.simulators.timeline import DATASETS

TODAY = date(2026, 11, 29)
KEYS = {
    "probation.clients": ("probation_clients", "client_id"),
    "probation.orders": ("probation_orders", "order_id"),
    "dji.detentions": ("detentions", "registration_number"),
    "wijkteam.involvements": ("involvements", "involvement_id"),
    "care.episodes": ("care_episodes", "id"),
    "municipal_orders.agreements": ("agreements", "agreement_id"),
    "municipal_orders.bookings": ("bookings", "booking_id"),
}


def _stamp(record):
    return record["meta"]["lastUpdated"] if "meta" in record else record["updated_at"]


def _records(world, dataset):
    attribute, key = KEYS[dataset]
    return {r[key]: r for r in getattr(world, attribute)}


@pytest.fixture(scope="module")
def world():
    return generate_world(clients=3000, seed=4, today=TODAY, invalid_bsn_share=0.02)


@pytest.fixture(scope="module")
def advanced(world):
    """(before, after, changes) of a copy of the world advanced by seven days."""
    after = copy.deepcopy(world)
    return world, after, after.advance(7)


def test_invalid_bsn_flags_say_exactly_which_bsns_fail(world):
    flags = Counter(p["bsn_valid"] for p in world.persons)
    assert 0.01 <= flags[False] / len(world.persons) <= 0.03
    for person in world.persons:
        assert is_valid_bsn(person["bsn"]) is person["bsn_valid"]
    assert len({p["bsn"] for p in world.persons}) == len(world.persons)


def test_invalid_bsns_reach_every_source(world):
    wrong = {p["bsn"] for p in world.persons if not p["bsn_valid"]}
    assert wrong & {c["bsn"] for c in world.probation_clients} == wrong
    assert wrong & {d["bsn"] for d in world.detentions}


def test_without_a_share_every_bsn_is_valid_and_the_world_unchanged():
    plain = generate_world(300, seed=4, today=TODAY)
    assert all(p["bsn_valid"] and is_valid_bsn(p["bsn"]) for p in plain.persons)
    shared = generate_world(300, seed=4, today=TODAY, invalid_bsn_share=0.5)
    assert shared.probation_orders == plain.probation_orders  # other streams untouched


@pytest.mark.parametrize("clients", [0, 1_000_001])
def test_world_refuses_sizes_outside_its_range(clients):
    with pytest.raises(ValueError):
        generate_world(clients, today=TODAY)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_ground_truth_round_trips(world, tmp_path, suffix):
    path = world.write_ground_truth(tmp_path / "nested" / f"truth{suffix}")
    rows = read_ground_truth(path)
    assert len(rows) == len(world.persons)
    assert [r["bsn"] for r in rows] == [p["bsn"] for p in world.persons]
    for row, person in zip(rows, world.persons, strict=True):
        assert row["bsn_valid"] is person["bsn_valid"]
        assert (row["given_name"], row["surname"], row["birth_date"]) == (
            person["given_name"], person["surname"], person["birth_date"])


def test_ground_truth_refuses_rows_without_identity(tmp_path):
    path = tmp_path / "truth.jsonl"
    path.write_text(json.dumps({"bsn": "111222333"}) + "\n")
    with pytest.raises(ValueError):
        read_ground_truth(path)


def test_advance_is_deterministic(advanced):
    before, after, changes = advanced
    again = copy.deepcopy(before)
    assert again.advance(7) == changes
    assert again == after
    other = copy.deepcopy(before)
    other.advance(7, seed=99)
    assert other != after


def test_advance_moves_today_and_refuses_no_days(advanced):
    before, after, _ = advanced
    assert after.today == TODAY + timedelta(days=7)
    assert after.version == before.version + 1
    with pytest.raises(ValueError):
        copy.deepcopy(before).advance(0)


def test_advance_changes_exactly_the_reported_records_with_later_stamps(advanced):
    before, after, changes = advanced
    latest_before = max(_stamp(r) for d in DATASETS for r in _records(before, d).values())
    for dataset in DATASETS:
        old, new = _records(before, dataset), _records(after, dataset)
        differing = {k for k, r in new.items() if old.get(k) != r}
        assert differing == set(changes[dataset]), dataset
        for key in changes[dataset]:
            assert latest_before < _stamp(new[key]) < after.today.isoformat()
        assert set(old) <= set(new)  # nothing disappears


def test_a_week_brings_every_kind_of_change(advanced):
    before, after, changes = advanced
    old = _records(before, "dji.detentions")
    new_detentions = [k for k in changes["dji.detentions"] if k not in old]
    released = [k for k in changes["dji.detentions"]
                if k in old and old[k]["actual_release_date"] is None
                and _records(after, "dji.detentions")[k]["actual_release_date"]]
    assert new_detentions and released
    for dataset in ("probation.orders", "municipal_orders.bookings"):
        assert set(changes[dataset]) - set(_records(before, dataset)), dataset  # new ones
    corrected = sum(1 for d in DATASETS for k in changes[d] if k in _records(before, d))
    assert corrected > len(released)


def test_advanced_world_stays_consistent(advanced):
    _, after, _ = advanced
    today = after.today.isoformat()
    for detention in after.detentions:
        assert detention["admission_date"] < today
        if detention["actual_release_date"] is None:
            assert detention["expected_release_date"] >= today
        else:
            assert detention["admission_date"] <= detention["actual_release_date"] < today
    for order in after.probation_orders:
        start, end = order["start_date"], order["end_date"]
        expected = "waiting" if start > today else "completed" if end < today else "active"
        assert order["status"] == expected
    for name in DATASETS:
        attribute, key = KEYS[name]
        keys = [r[key] for r in getattr(after, attribute)]
        assert len(keys) == len(set(keys)), name
    people = {p["bsn"] for p in after.persons}
    assert {d["bsn"] for d in after.detentions} <= people
    assert {i["bsn"] for i in after.involvements} <= people


def test_new_detentions_keep_the_share_of_short_stays():
    world = generate_world(20_000, seed=2, today=TODAY)
    known = {d["registration_number"] for d in world.detentions}
    world.advance(30)
    fresh = [d for d in world.detentions if d["registration_number"] not in known]
    lengths = [(date.fromisoformat(d["expected_release_date"])
                - date.fromisoformat(d["admission_date"])).days for d in fresh]
    assert len(fresh) > 500
    assert 0.65 <= sum(n <= 91 for n in lengths) / len(lengths) <= 0.85


def test_rn_carries_about_ninety_percent_of_community_service(world):
    werkstraf = Counter(o["organisation"] for o in world.probation_orders
                        if o["order_type"] == "werkstraf")
    assert 0.85 <= werkstraf["RN"] / sum(werkstraf.values()) <= 0.95
