"""Justice-chain sources: probation clients and orders (3RO) and detentions (DJI)."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from ketenbrug.simulators import texts
from ketenbrug.simulators.clock import Clock
from ketenbrug.simulators.common import (
    BASIC_CONDITIONS,
    ORGANISATION,
    ORGANISATIONS,
    Weighted,
    between,
    draw_status,
    pick,
    slug,
)
from ketenbrug.simulators.names import PROBATION_DOMAINS
from ketenbrug.simulators.reference import prisons

Record = dict[str, Any]

ORDER_TYPES = ("advies", "toezicht", "werkstraf")
# Order types per organisation: overall 35% advies, 25% toezicht, 40% werkstraf, and RN
# (75% of clients) carries about 90% of community service, as DESIGN.md has it.
_OTHER_ORDER_TYPE = Weighted(ORDER_TYPES, (47, 37, 16))
_ORDER_TYPE = {"RN": Weighted(ORDER_TYPES, (31, 21, 48)), "SVG": _OTHER_ORDER_TYPE,
               "LJR": _OTHER_ORDER_TYPE}
# fmt: off
SUPERVISION_CONDITIONS = (
    "meldplicht", "contactverbod", "locatieverbod", "behandelverplichting", "drugsverbod",
)
# fmt: on
_RISC_LEVEL = Weighted(("low", "medium", "high"), (50, 35, 15))
DETENTION_SHARE = 0.35
# About 75% of detentions last three months (91 days) or less.
SHORT_DETENTION_SHARE = 0.75
HANDOVER_WINDOW_DAYS = 42


def probation(rng: random.Random, clock: Clock, persons: list[Record]) -> tuple[list, list]:
    """Return (clients, orders): one client per person, with one or two orders each."""
    client_seq = dict.fromkeys(ORGANISATIONS, 0)
    order_seq = dict.fromkeys(ORGANISATIONS, 0)
    clients: list[Record] = []
    orders: list[Record] = []
    for person in persons:
        org = ORGANISATION.draw(rng)
        client_seq[org] += 1
        client_id = f"{org}-{client_seq[org]:06d}"
        types = [_ORDER_TYPE[org].draw(rng) for _ in range(1 if rng.random() < 0.6 else 2)]
        for order_type in types:
            order_seq[org] += 1
            order_id = f"{org}-O-{order_seq[org]:07d}"
            orders.append(_order(rng, clock, order_id, client_id, org, order_type))
        # Advice-only clients have not been assessed with RISc.
        advice_only = all(t == "advies" for t in types)
        clients.append(
            {
                "client_id": client_id,
                "organisation": org,
                "bsn": person["bsn"],
                "given_name": person["given_name"],
                "surname": person["surname"],
                "birth_date": person["birth_date"],
                "address": {
                    "street": person["street"],
                    "house_number": person["house_number"],
                    "postcode": person["postcode"],
                    "city": person["city"],
                    "municipality_code": person["municipality_code"],
                },
                "risc_level": None if advice_only else _RISC_LEVEL.draw(rng),
                "contact_point": f"team-{slug(person['city'])}@{PROBATION_DOMAINS[org]}",
                "officer_notes": texts.officer_note(rng, person["given_name"]),
                "updated_at": clock.updated_at(),
            }
        )
    return clients, orders


def _order(
    rng: random.Random, clock: Clock, order_id: str, client_id: str, org: str, order_type: str
) -> Record:
    """Return one order; start and end are day offsets from today, status follows them."""
    if order_type == "toezicht":
        # A good share of supervisions ends in the coming six weeks: the handover window.
        if rng.random() < 0.3:
            end = between(rng, 0, HANDOVER_WINDOW_DAYS)
        else:
            end = between(rng, -365, 730)
        start = end - between(rng, 365, 1095)
    elif order_type == "werkstraf":
        start = between(rng, -400, 60)
        end = start + between(rng, 60, 365)
    else:
        start = between(rng, -180, 30)
        end = start + between(rng, 14, 42)
    status = "waiting" if start > 0 else "completed" if end < 0 else "active"
    return _order_record(rng, clock, order_id, client_id, org, order_type, status, start, end)


def new_order(rng: random.Random, today: date, order_id: str, client_id: str, org: str) -> Record:
    """Return an order imposed on `today` (advice and supervision start at once, community
    service within two months), status as of `today`."""
    clock = Clock(rng, today)
    order_type = _ORDER_TYPE[org].draw(rng)
    if order_type == "advies":
        start, end = 0, between(rng, 14, 42)
    elif order_type == "werkstraf":
        start = between(rng, 0, 60)
        end = start + between(rng, 60, 365)
    else:
        start, end = 0, between(rng, 365, 1095)
    status = "waiting" if start > 0 else "active"
    return _order_record(rng, clock, order_id, client_id, org, order_type, status, start, end)


def _order_record(
    rng: random.Random, clock: Clock, order_id: str, client_id: str, org: str,
    order_type: str, status: str, start: int, end: int,
) -> Record:
    hours_ordered = hours_served = None
    if order_type == "werkstraf":
        hours_ordered = between(rng, 10, 120) * 2
        hours_served = {"waiting": 0, "completed": hours_ordered}.get(
            status, between(rng, 0, hours_ordered)
        )
    conditions: list[str] = []
    if order_type == "toezicht":
        picked = set(rng.sample(SUPERVISION_CONDITIONS, between(rng, 1, 3)))
        conditions = [c for c in SUPERVISION_CONDITIONS if c in picked]
    return {
        "order_id": order_id,
        "client_id": client_id,
        "organisation": org,
        "order_type": order_type,
        "status": status,
        "start_date": clock.day(start),
        "end_date": clock.day(end),
        "hours_ordered": hours_ordered,
        "hours_served": hours_served,
        "conditions": conditions,
        "offence_description": texts.offence(rng),
        "updated_at": clock.updated_at(),
    }


def detentions(rng: random.Random, clock: Clock, persons: list[Record]) -> list[Record]:
    """Return detentions for about 35% of persons, each with a D&R plan."""
    locations = prisons()
    records: list[Record] = []
    for person in persons:
        if rng.random() >= DETENTION_SHARE:
            continue
        if rng.random() < SHORT_DETENTION_SHARE:
            length = between(rng, 7, 91)
        else:
            length = between(rng, 92, 1460)
        phase = rng.random()
        actual = None
        if phase < 0.25:
            # Leaves within six weeks (and was admitted before today).
            release = between(rng, 0, min(HANDOVER_WINDOW_DAYS, length - 1))
        elif phase < 0.55 or length <= HANDOVER_WINDOW_DAYS + 1:
            # Already released, sometimes a few days before the expected date.
            release = -between(rng, 1, 180)
            actual = release - pick(rng, (0, 0, 0, 1, 2, 3))
        else:
            release = between(rng, HANDOVER_WINDOW_DAYS + 1, length - 1)
        admission = release - length
        latest = min(0, release if actual is None else actual)
        records.append(
            {
                "registration_number": f"DJI-{len(records) + 1:07d}",
                "bsn": person["bsn"],
                "given_name": person["given_name"],
                "surname": person["surname"],
                "birth_date": person["birth_date"],
                "prison_code": pick(rng, locations).code,
                "admission_date": clock.day(admission),
                "expected_release_date": clock.day(release),
                "actual_release_date": None if actual is None else clock.day(actual),
                "settlement_municipality_code": person["municipality_code"],
                "reintegration_plan": {
                    c: {
                        "status": draw_status(rng, c),
                        "as_of": clock.day(between(rng, admission, latest)),
                    }
                    for c in BASIC_CONDITIONS
                },
                "offence_description": texts.offence(rng),
                "updated_at": clock.updated_at(),
            }
        )
    return records
