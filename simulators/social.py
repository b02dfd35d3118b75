"""Social-domain sources: neighbourhood-team involvements and municipal agreements/bookings."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from ketenbrug.simulators import texts
from ketenbrug.simulators.clock import Clock
from ketenbrug.simulators.common import (
    BASIC_CONDITIONS,
    CONDITION_STATUSES,
    ORGANISATION,
    ORGANISATIONS,
    between,
    draw_status,
    pick,
    slug,
)
from ketenbrug.simulators.names import GIVEN_NAMES, SURNAMES
from ketenbrug.simulators.reference import municipalities

Record = dict[str, Any]

INVOLVEMENT_SHARE = 0.40
# Share of involvements whose view of the basic conditions disagrees with the D&R plan.
DISAGREEMENT_SHARE = 0.15
DOMAINS = ("housing", "income", "debts", "care", "daytime_activity")
AGREEMENT_MUNICIPALITY_SHARE = 0.20
ACTIVITIES = ("outreach", "group_session", "case_consultation", "training")
# fmt: off
_SERVICES = (
    "Nazorg ex-gedetineerden", "Outreachend werken bij multiprobleemhuishoudens",
    "Casusregie zorg en veiligheid", "Groepsaanbod dagbesteding",
)
# fmt: on


def involvements(
    rng: random.Random, clock: Clock, persons: list[Record], plans: dict[str, Record]
) -> list[Record]:
    """Return involvements for about 40% of persons, by the team of their municipality.

    Where DJI holds a D&R plan for the person, the team mostly sees the same statuses; in
    about 15% of such involvements one or two conditions differ. The team's `as_of` dates
    are its own.
    """
    seq: dict[str, int] = {}
    records = []
    for person in persons:
        if rng.random() >= INVOLVEMENT_SHARE:
            continue
        code = person["municipality_code"]
        seq[code] = seq.get(code, 0) + 1
        plan = plans.get(person["bsn"])
        if plan is None:
            statuses = {c: draw_status(rng, c) for c in BASIC_CONDITIONS}
        else:
            statuses = {c: plan[c]["status"] for c in BASIC_CONDITIONS}
            if rng.random() < DISAGREEMENT_SHARE:
                for condition in rng.sample(BASIC_CONDITIONS, between(rng, 1, 2)):
                    others = [s for s in CONDITION_STATUSES if s != statuses[condition]]
                    statuses[condition] = pick(rng, others)
        picked = set(rng.sample(DOMAINS, between(rng, 1, 3)))
        records.append(
            {
                "involvement_id": f"WT-{code}-{seq[code]:06d}",
                "bsn": person["bsn"],
                "given_name": person["given_name"],
                "surname": person["surname"],
                "birth_date": person["birth_date"],
                "municipality_code": code,
                "involved_since": clock.day(-between(rng, 14, 1500)),
                "domains": [d for d in DOMAINS if d in picked],
                "basic_conditions": {
                    c: {"status": s, "as_of": clock.day(-between(rng, 0, 120))}
                    for c, s in statuses.items()
                },
                "contact_point": f"wijkteam@{slug(person['city'])}.example",
                "case_notes": texts.case_note(rng, person["given_name"]),
                "updated_at": clock.updated_at(),
            }
        )
    return records


def agreements(rng: random.Random, clock: Clock) -> list[Record]:
    """Return agreements for a random ~20% of municipalities (at least 3), this calendar year.

    Most chosen municipalities have one agreement; about one in ten has a second one with
    another probation organisation.
    """
    places = municipalities()
    chosen = sorted(rng.sample(places, max(3, round(len(places) * AGREEMENT_MUNICIPALITY_SHARE))))
    year = clock.today.year
    records = []
    for place in chosen:
        first = ORGANISATION.draw(rng)
        organisations = [first]
        if rng.random() < 0.1:
            organisations.append(pick(rng, [o for o in ORGANISATIONS if o != first]))
        for number, org in enumerate(organisations, start=1):
            records.append(
                {
                    "agreement_id": f"MA-{place.cbs_code}-{number:02d}",
                    "municipality_code": place.cbs_code,
                    "organisation": org,
                    "description": f"{pick(rng, _SERVICES)} {place.name}",
                    "tariff_cents_per_hour": between(rng, 7500, 11000),
                    "cap_hours": between(rng, 10, 80) * 10,
                    "start_date": f"{year}-01-01",
                    "end_date": f"{year}-12-31",
                    "contact_person": f"{pick(rng, GIVEN_NAMES)} {pick(rng, SURNAMES)}",
                    "updated_at": clock.updated_at(),
                }
            )
    return records


def bookings(
    rng: random.Random, clock: Clock, agreements: list[Record], count: int
) -> list[Record]:
    """Return `count` time bookings spread over `agreements`, in quarter hours.

    Bookings fall between the agreement's start and today; about 3% are dated before the
    agreement started, as a billing check should notice.
    """
    periods = [(_ordinal(a["start_date"]), _ordinal(a["end_date"])) for a in agreements]
    records = []
    for number in range(1, count + 1):
        index = rng.randrange(len(agreements))
        agreement = agreements[index]
        start, end = periods[index]
        if rng.random() < 0.03:
            day = start - between(rng, 1, 60)
        else:
            day = between(rng, start, max(start, min(end, clock.ordinal)))
        quarters = between(rng, 1, 32)
        records.append(
            {
                "booking_id": f"MB-{number:07d}",
                "agreement_id": agreement["agreement_id"],
                "organisation": agreement["organisation"],
                "booking_date": date.fromordinal(day).isoformat(),
                "hours": f"{quarters // 4}.{quarters % 4 * 25:02d}",
                "activity": pick(rng, ACTIVITIES),
                "note": texts.booking_note(rng),
                "updated_at": clock.updated_at(),
            }
        )
    return records


def _ordinal(iso_date: str) -> int:
    """Return the proleptic Gregorian ordinal of an ISO date."""
    return date.fromisoformat(iso_date).toordinal()


def new_involvement(
    rng: random.Random, today: date, person: Record, involvement_id: str, plan: Record
) -> Record:
    """Return an involvement that starts `today`, seeing the basic conditions as the D&R
    `plan` does, dated `today`; `updated_at` is left for the caller to stamp."""
    clock = Clock(rng, today)
    picked = set(rng.sample(DOMAINS, between(rng, 1, 3)))
    return {
        "involvement_id": involvement_id,
        "bsn": person["bsn"],
        "given_name": person["given_name"],
        "surname": person["surname"],
        "birth_date": person["birth_date"],
        "municipality_code": person["municipality_code"],
        "involved_since": clock.day(0),
        "domains": [d for d in DOMAINS if d in picked],
        "basic_conditions": {
            c: {"status": plan[c]["status"], "as_of": clock.day(0)} for c in BASIC_CONDITIONS
        },
        "contact_point": f"wijkteam@{slug(person['city'])}.example",
        "case_notes": texts.case_note(rng, person["given_name"]),
        "updated_at": "",
    }
