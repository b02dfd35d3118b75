"""The synthetic world: people and what each source system knows about them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from typing import Any

from simulators import care, justice, social
from simulators.bsn import random_bsn
from simulators.clock import Clock
from simulators.common import between, pick
from simulators.names import GIVEN_NAMES, POSTCODE_LETTERS, STREETS, SURNAMES
from simulators.reference import municipalities

Record = dict[str, Any]

# Adults of 18 up to and including 75, in days (18 * 365.25 rounded up, 76 * 365.25 - 2).
_YOUNGEST_DAYS = 6576
_OLDEST_DAYS = 27757


@dataclass
class World:
    """Everything the five simulated source systems serve, plus the ground truth.

    Each list holds plain dicts in exactly the shapes of simulators/API.md; `persons` is
    the ground truth the sources were drawn from (one dict per real person).
    """

    today: date
    persons: list[Record] = field(default_factory=list)
    probation_clients: list[Record] = field(default_factory=list)
    probation_orders: list[Record] = field(default_factory=list)
    detentions: list[Record] = field(default_factory=list)
    involvements: list[Record] = field(default_factory=list)
    care_episodes: list[Record] = field(default_factory=list)
    agreements: list[Record] = field(default_factory=list)
    bookings: list[Record] = field(default_factory=list)


def generate_world(clients: int = 2000, seed: int = 20261129, today: date | None = None) -> World:
    """Return a synthetic world with `clients` probation clients, one person each.

    The same (clients, seed, today) always gives the same world. `today` defaults to the
    current date. Refuses (ValueError) fewer than one client.
    """
    if clients < 1:
        raise ValueError("clients must be at least 1")
    today = today or date.today()

    def stream(name: str) -> tuple[random.Random, Clock]:
        # One random stream per source, so changing one source leaves the others as they were.
        rng = random.Random(f"{seed}:{name}")
        return rng, Clock(rng, today)

    persons = _persons(*stream("persons"), clients)
    probation_clients, orders = justice.probation(*stream("probation"), persons)
    detentions = justice.detentions(*stream("dji"), persons)
    plans = {d["bsn"]: d["reintegration_plan"] for d in detentions}
    organisations = [c["organisation"] for c in probation_clients]
    agreements = social.agreements(*stream("agreements"))
    return World(
        today=today,
        persons=persons,
        probation_clients=probation_clients,
        probation_orders=orders,
        detentions=detentions,
        involvements=social.involvements(*stream("wijkteam"), persons, plans),
        care_episodes=care.episodes(*stream("care"), persons, organisations),
        agreements=agreements,
        bookings=social.bookings(*stream("bookings"), agreements, max(1, clients // 4)),
    )


def _persons(rng: random.Random, clock: Clock, count: int) -> list[Record]:
    """Return `count` adults with unique valid BSNs, living where the population lives."""
    places = municipalities()
    weights = list(accumulate(m.population for m in places))
    homes = rng.choices(places, cum_weights=weights, k=count)
    seen: set[str] = set()
    persons = []
    for home in homes:
        bsn = random_bsn(rng)
        while bsn in seen:
            bsn = random_bsn(rng)
        seen.add(bsn)
        number = str(between(rng, 1, 250))
        if rng.random() < 0.1:
            number += pick(rng, "ABC")
        persons.append(
            {
                "bsn": bsn,
                "given_name": pick(rng, GIVEN_NAMES),
                "surname": pick(rng, SURNAMES),
                "birth_date": clock.day(-between(rng, _YOUNGEST_DAYS, _OLDEST_DAYS)),
                "street": pick(rng, STREETS),
                "house_number": number,
                "postcode": f"{between(rng, 1000, 9999)}{pick(rng, POSTCODE_LETTERS)}",
                "city": home.name,
                "municipality_code": home.cbs_code,
            }
        )
    return persons
