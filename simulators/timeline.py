"""Moving the world on: each new day brings admissions, releases, new orders, status
changes, bookings, new involvements and care episodes, and corrections to earlier records.

Every record a day touches gets an `updated_at` (FHIR: `meta.lastUpdated`) inside that day.
The generator stamps everything before `today`, and a day that passes is the old `today`,
so the stamps of an advance are later than anything served before it: an incremental pull
from the previous `today` sees exactly the changes.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ketenbrug.simulators import texts
from ketenbrug.simulators.care import CARE_SHARE, new_episode
from ketenbrug.simulators.common import BASIC_CONDITIONS, between, pick
from ketenbrug.simulators.corrections import correct
from ketenbrug.simulators.justice import SHORT_DETENTION_SHARE, new_order
from ketenbrug.simulators.reference import prisons
from ketenbrug.simulators.social import new_involvement

if TYPE_CHECKING:
    from ketenbrug.simulators.population import World

Record = dict[str, Any]

# Daily rates per person in the world (2,000 clients: ~3 admissions, ~4 orders a day).
ADMISSIONS_PER_PERSON = 0.0015
ORDERS_PER_PERSON = 0.002
BOOKINGS_PER_PERSON = 0.0008
CORRECTIONS_PER_PERSON = 0.002
# Share of people released on a day whom the neighbourhood team of their municipality
# starts to help, and of them who enter care.
NEW_INVOLVEMENT_SHARE = 0.3
DATASETS = (
    "probation.clients", "probation.orders", "dji.detentions", "wijkteam.involvements",
    "care.episodes", "municipal_orders.agreements", "municipal_orders.bookings",
)


class Day:
    """One day passing: its date, random stream, stamps, and the keys it changed."""

    def __init__(self, world: World, rng: random.Random, changed: dict[str, dict]) -> None:
        self.world = world
        self.rng = rng
        self.date = world.today
        self.iso = self.date.isoformat()
        self.changed = changed

    def touch(self, dataset: str, record: Record, key: str) -> None:
        """Stamp `record` inside this day and note its key as changed in `dataset`."""
        second = int(self.rng.random() * 86_400)
        stamp = f"{self.iso}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"
        if dataset == "care.episodes":
            record["meta"]["lastUpdated"] = stamp
        else:
            record["updated_at"] = stamp
        self.changed[dataset][record[key]] = None

    def offset(self, days: int) -> str:
        """Return the ISO date `days` after this day."""
        return (self.date + timedelta(days=days)).isoformat()


def advance(world: World, days: int = 1, seed: int | None = None) -> dict[str, list[str]]:
    """Move `world` on by `days` days, in place; return the changed or new keys per dataset
    (dataset named "<slug>.<dataset>", keys sorted).

    The same world advanced with the same (days, seed) changes in the same way; `seed`
    defaults to the world's own. Refuses (ValueError) fewer than one day.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    base = world.seed if seed is None else seed
    rng = random.Random(f"{base}:advance:{world.today.isoformat()}:{world.version}")
    changed: dict[str, dict[str, None]] = {name: {} for name in DATASETS}
    for _ in range(days):
        day = Day(world, rng, changed)
        _day(day)
        world.today += timedelta(days=1)
    world.version += 1
    return {name: sorted(keys) for name, keys in changed.items()}


def _day(day: Day) -> None:
    world, rng = day.world, day.rng
    people = len(world.persons)
    released = _releases(day)
    _admissions(day, _count(rng, people * ADMISSIONS_PER_PERSON))
    _new_orders(day, _count(rng, people * ORDERS_PER_PERSON))
    _order_statuses(day)
    _bookings(day, _count(rng, people * BOOKINGS_PER_PERSON))
    _follow_up(day, released)
    correct(day, _count(rng, people * CORRECTIONS_PER_PERSON))


def _count(rng: random.Random, mean: float) -> int:
    """Return a whole number of events around `mean`, at least one."""
    whole = int(mean)
    return max(1, whole + (rng.random() < mean - whole))


def _releases(day: Day) -> list[Record]:
    """Release everyone whose expected date has come; return their detentions."""
    released = []
    for detention in day.world.detentions:
        due = detention["expected_release_date"] <= day.iso
        if due and detention["actual_release_date"] is None:
            detention["actual_release_date"] = day.iso
            day.touch("dji.detentions", detention, "registration_number")
            released.append(detention)
    return released


def _admissions(day: Day, count: int) -> None:
    world, rng = day.world, day.rng
    detained = {d["bsn"] for d in world.detentions if d["actual_release_date"] is None}
    locations = prisons()
    for _ in range(count):
        person = pick(rng, world.persons)
        if person["bsn"] in detained:
            continue
        detained.add(person["bsn"])
        short = rng.random() < SHORT_DETENTION_SHARE
        length = between(rng, 7, 91) if short else between(rng, 92, 1460)
        detention = {
            "registration_number": f"DJI-{len(world.detentions) + 1:07d}",
            "bsn": person["bsn"],
            "given_name": person["given_name"],
            "surname": person["surname"],
            "birth_date": person["birth_date"],
            "prison_code": pick(rng, locations).code,
            "admission_date": day.iso,
            "expected_release_date": day.offset(length),
            "actual_release_date": None,
            "settlement_municipality_code": person["municipality_code"],
            # A plan starts unknown; the case manager fills it in during the stay.
            "reintegration_plan": {c: {"status": "unknown", "as_of": day.iso}
                                   for c in BASIC_CONDITIONS},
            "offence_description": texts.offence(rng),
            "updated_at": "",
        }
        world.detentions.append(detention)
        day.touch("dji.detentions", detention, "registration_number")


def _new_orders(day: Day, count: int) -> None:
    world, rng = day.world, day.rng
    numbers = Counter(o["organisation"] for o in world.probation_orders)
    for _ in range(count):
        client = pick(rng, world.probation_clients)
        org = client["organisation"]
        numbers[org] += 1
        order = new_order(rng, day.date, f"{org}-O-{numbers[org]:07d}", client["client_id"], org)
        world.probation_orders.append(order)
        day.touch("probation.orders", order, "order_id")


def _order_statuses(day: Day) -> None:
    """Set each order's status as of tomorrow; a completed werkstraf has all hours served."""
    tomorrow = day.offset(1)
    for order in day.world.probation_orders:
        start, end = order["start_date"], order["end_date"]
        status = "waiting" if start > tomorrow else "completed" if end < tomorrow else "active"
        if status != order["status"]:
            order["status"] = status
            if status == "completed" and order["order_type"] == "werkstraf":
                order["hours_served"] = order["hours_ordered"]
            day.touch("probation.orders", order, "order_id")


def _bookings(day: Day, count: int) -> None:
    world, rng = day.world, day.rng
    running = [a for a in world.agreements if a["start_date"] <= day.iso <= a["end_date"]]
    for _ in range(count if running else 0):
        agreement = pick(rng, running)
        quarters = between(rng, 1, 32)
        booking = {
            "booking_id": f"MB-{len(world.bookings) + 1:07d}",
            "agreement_id": agreement["agreement_id"],
            "organisation": agreement["organisation"],
            "booking_date": day.iso,
            "hours": f"{quarters // 4}.{quarters % 4 * 25:02d}",
            "activity": pick(rng, ("outreach", "group_session", "case_consultation", "training")),
            "note": texts.booking_note(rng),
            "updated_at": "",
        }
        world.bookings.append(booking)
        day.touch("municipal_orders.bookings", booking, "booking_id")


def _follow_up(day: Day, released: list[Record]) -> None:
    """Some people released today get a neighbourhood team; some of those enter care."""
    world, rng = day.world, day.rng
    involved = {i["bsn"] for i in world.involvements}
    numbers = Counter(i["municipality_code"] for i in world.involvements)
    persons = {p["bsn"]: p for p in world.persons} if released else {}
    for detention in released:
        person = persons.get(detention["bsn"])
        if person is None or person["bsn"] in involved or rng.random() >= NEW_INVOLVEMENT_SHARE:
            continue
        code = person["municipality_code"]
        numbers[code] += 1
        record = new_involvement(rng, day.date, person, f"WT-{code}-{numbers[code]:06d}",
                                 detention["reintegration_plan"])
        world.involvements.append(record)
        day.touch("wijkteam.involvements", record, "involvement_id")
        if rng.random() < CARE_SHARE:
            episode = new_episode(rng, day.date, person, len(world.care_episodes) + 1)
            world.care_episodes.append(episode)
            day.touch("care.episodes", episode, "id")
