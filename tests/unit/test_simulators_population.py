"""The synthetic world: deterministic, valid identifiers, plausible shares, real reference codes."""

from __future__ import annotations

import csv
import random
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from ketenbrug.simulators import generate_world, is_valid_bsn
from ketenbrug.simulators.bsn import random_bsn
from tests.bsn_cases import BSN_CASE_IDS, BSN_CASES

REFERENCE = Path(__file__).resolve().parents[2] / "reference"
TODAY = date(2026, 11, 29)
BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
CATEGORY_SYSTEM = "https://ketenbrug.example/fhir/CodeSystem/care-category"
CATEGORIES = {"addiction", "mental_health", "intellectual_disability", "forensic"}


def _column(filename: str, column: str) -> set[str]:
    with (REFERENCE / filename).open(newline="", encoding="utf-8") as handle:
        return {row[column] for row in csv.DictReader(handle)}


def _days(iso: str) -> int:
    return (date.fromisoformat(iso) - TODAY).days


@pytest.fixture(scope="module")
def world():
    return generate_world(clients=5000, seed=7, today=TODAY)


def test_same_seed_gives_identical_world():
    assert generate_world(300, seed=11, today=TODAY) == generate_world(300, seed=11, today=TODAY)


def test_different_seed_gives_different_people():
    first = generate_world(300, seed=11, today=TODAY)
    second = generate_world(300, seed=12, today=TODAY)
    assert [p["bsn"] for p in first.persons] != [p["bsn"] for p in second.persons]


def test_world_refuses_zero_clients():
    with pytest.raises(ValueError):
        generate_world(0, today=TODAY)


@pytest.mark.parametrize(("value", "valid", "why"), BSN_CASES, ids=BSN_CASE_IDS)
def test_the_worlds_eleven_test_answers_the_shared_cases(value, valid, why):
    # The same table the hub's test answers (tests/bsn_cases.py).
    assert is_valid_bsn(value) is valid, why


def test_bsn_generator_gives_valid_numbers():
    rng = random.Random(3)
    assert all(is_valid_bsn(random_bsn(rng)) for _ in range(2000))


def test_every_person_has_a_unique_valid_bsn(world):
    bsns = [p["bsn"] for p in world.persons]
    assert len(world.persons) == 5000
    assert len(set(bsns)) == len(bsns)
    assert all(is_valid_bsn(b) for b in bsns)


def test_every_source_record_points_at_a_real_person(world):
    people = {p["bsn"]: p for p in world.persons}
    sourced = [
        *world.probation_clients,
        *world.detentions,
        *world.involvements,
    ]
    for record in sourced:
        person = people[record["bsn"]]
        assert (record["given_name"], record["surname"], record["birth_date"]) == (
            person["given_name"],
            person["surname"],
            person["birth_date"],
        )
    assert all(e["patient"]["identifier"]["value"] in people for e in world.care_episodes)


def test_people_are_adults_of_at_most_75(world):
    for person in world.persons:
        born = date.fromisoformat(person["birth_date"])
        age = TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))
        assert 18 <= age <= 75


def test_people_live_where_the_population_lives(world):
    # Amsterdam holds about 5% of the Dutch population; a uniform draw would give 0.3%.
    share = sum(p["municipality_code"] == "GM0363" for p in world.persons) / len(world.persons)
    assert 0.03 <= share <= 0.08


def test_probation_organisation_split(world):
    counts = Counter(c["organisation"] for c in world.probation_clients)
    total = len(world.probation_clients)
    assert abs(counts["RN"] / total - 0.75) <= 0.04
    assert abs(counts["SVG"] / total - 0.15) <= 0.03
    assert abs(counts["LJR"] / total - 0.10) <= 0.03


def test_order_types_and_hours(world):
    counts = Counter(o["order_type"] for o in world.probation_orders)
    total = len(world.probation_orders)
    for order_type, share in (("advies", 0.35), ("toezicht", 0.25), ("werkstraf", 0.40)):
        assert abs(counts[order_type] / total - share) <= 0.04
    for order in world.probation_orders:
        if order["order_type"] == "werkstraf":
            assert 20 <= order["hours_ordered"] <= 240
            assert 0 <= order["hours_served"] <= order["hours_ordered"]
        else:
            assert order["hours_ordered"] is None and order["hours_served"] is None
        if order["order_type"] != "toezicht":
            assert order["conditions"] == []


def test_order_status_follows_dates(world):
    for order in world.probation_orders:
        start, end = _days(order["start_date"]), _days(order["end_date"])
        expected = "waiting" if start > 0 else "completed" if end < 0 else "active"
        assert order["status"] == expected


def test_many_supervisions_end_within_six_weeks(world):
    supervisions = [o for o in world.probation_orders if o["order_type"] == "toezicht"]
    ending = [o for o in supervisions if 0 <= _days(o["end_date"]) <= 42]
    assert len(ending) / len(supervisions) >= 0.2


def test_detention_shares(world):
    detentions = world.detentions
    assert abs(len(detentions) / len(world.persons) - 0.35) <= 0.04
    lengths = [
        _days(d["actual_release_date"] or d["expected_release_date"]) - _days(d["admission_date"])
        for d in detentions
    ]
    assert abs(sum(n <= 91 for n in lengths) / len(lengths) - 0.75) <= 0.10
    assert sum(n < 28 for n in lengths) > 0
    no_id = sum(d["reintegration_plan"]["valid_id"]["status"] == "not_arranged" for d in detentions)
    assert abs(no_id / len(detentions) - 0.15) <= 0.07


def test_detention_dates_are_consistent(world):
    released = 0
    leaving_soon = 0
    for detention in world.detentions:
        assert _days(detention["admission_date"]) < 0
        if detention["actual_release_date"] is not None:
            released += 1
            assert _days(detention["admission_date"]) < _days(detention["actual_release_date"])
            assert _days(detention["actual_release_date"]) <= 0
        elif 0 <= _days(detention["expected_release_date"]) <= 42:
            leaving_soon += 1
    assert 0.20 <= leaving_soon / len(world.detentions) <= 0.30
    assert released > 0


def test_detentions_settle_where_the_person_lives(world):
    home = {p["bsn"]: p["municipality_code"] for p in world.persons}
    assert all(d["settlement_municipality_code"] == home[d["bsn"]] for d in world.detentions)


def test_every_municipality_code_exists_in_reference(world):
    known = _column("municipalities.csv", "cbs_code")
    used = (
        {p["municipality_code"] for p in world.persons}
        | {c["address"]["municipality_code"] for c in world.probation_clients}
        | {d["settlement_municipality_code"] for d in world.detentions}
        | {i["municipality_code"] for i in world.involvements}
        | {a["municipality_code"] for a in world.agreements}
    )
    assert used <= known
    assert len(used) > 100  # people are spread over the country, not a handful of places


def test_every_prison_code_exists_in_reference(world):
    known = _column("prisons.csv", "code")
    used = {d["prison_code"] for d in world.detentions}
    assert used <= known
    assert len(used) > 10


def test_neighbourhood_teams_sometimes_disagree_with_the_plan(world):
    plans = {d["bsn"]: d["reintegration_plan"] for d in world.detentions}
    shared = [i for i in world.involvements if i["bsn"] in plans]
    disagreeing = [
        i
        for i in shared
        if any(
            i["basic_conditions"][c]["status"] != plans[i["bsn"]][c]["status"]
            for c in i["basic_conditions"]
        )
    ]
    assert abs(len(world.involvements) / len(world.persons) - 0.40) <= 0.04
    assert 0.08 <= len(disagreeing) / len(shared) <= 0.22


def test_fhir_episodes_carry_bsn_and_category_under_the_right_systems(world):
    assert abs(len(world.care_episodes) / len(world.persons) - 0.30) <= 0.04
    for episode in world.care_episodes:
        assert episode["resourceType"] == "EpisodeOfCare"
        assert episode["patient"]["identifier"]["system"] == BSN_SYSTEM
        assert is_valid_bsn(episode["patient"]["identifier"]["value"])
        coding = episode["type"][0]["coding"][0]
        assert coding["system"] == CATEGORY_SYSTEM
        assert coding["code"] in CATEGORIES
        assert re.fullmatch(r"\d{8}", episode["managingOrganization"]["identifier"]["value"])
        # Present so the hub can prove it refuses them.
        assert episode["diagnosis"][0]["condition"]["reference"].startswith("Condition/")
        assert episode["text"]["div"].startswith("<div")


def test_svg_clients_are_mostly_in_addiction_or_mental_health_care(world):
    organisation = {c["bsn"]: c["organisation"] for c in world.probation_clients}
    categories = [
        e["type"][0]["coding"][0]["code"]
        for e in world.care_episodes
        if organisation[e["patient"]["identifier"]["value"]] == "SVG"
    ]
    share = sum(c in ("addiction", "mental_health") for c in categories) / len(categories)
    assert share >= 0.7


def test_agreements_and_bookings(world):
    agreements = {a["agreement_id"]: a for a in world.agreements}
    assert len({a["municipality_code"] for a in world.agreements}) >= 3
    for agreement in world.agreements:
        assert 7500 <= agreement["tariff_cents_per_hour"] <= 11000
        assert 100 <= agreement["cap_hours"] <= 800
        assert agreement["start_date"] <= TODAY.isoformat() <= agreement["end_date"]
    assert len(world.bookings) == 5000 // 4
    outside = 0
    for booking in world.bookings:
        agreement = agreements[booking["agreement_id"]]
        assert booking["organisation"] == agreement["organisation"]
        assert (float(booking["hours"]) * 4).is_integer() and float(booking["hours"]) > 0
        assert re.fullmatch(r"\d+\.\d\d", booking["hours"])
        if not agreement["start_date"] <= booking["booking_date"] <= agreement["end_date"]:
            outside += 1
    assert 0.01 <= outside / len(world.bookings) <= 0.06


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ("probation_clients", "officer_notes"),
        ("probation_orders", "offence_description"),
        ("detentions", "offence_description"),
        ("involvements", "case_notes"),
        ("agreements", "contact_person"),
        ("bookings", "note"),
    ],
)
def test_never_permitted_free_text_is_always_filled(world, source, field):
    assert all(r[field].strip() for r in getattr(world, source))


def test_updated_at_falls_in_the_30_days_before_today(world):
    earliest = datetime(2026, 10, 30)
    latest = datetime(2026, 11, 29)
    stamps = [r["updated_at"] for r in world.probation_orders] + [
        e["meta"]["lastUpdated"] for e in world.care_episodes
    ]
    for stamp in stamps:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
        moment = datetime.fromisoformat(stamp[:-1])
        assert earliest <= moment < latest
    assert len({s[:10] for s in stamps}) == 30  # spread over every day, not bunched
