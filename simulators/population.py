"""The synthetic world: people and what each source system knows about them."""

from __future__ import annotations

import gc
import random
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from pathlib import Path
from typing import Any

from ketenbrug.simulators import care, justice, social
from ketenbrug.simulators.bsn import invalidated_bsn, random_bsn
from ketenbrug.simulators.clock import Clock
from ketenbrug.simulators.common import between, pick
from ketenbrug.simulators.names import GIVEN_NAMES, POSTCODE_LETTERS, STREETS, SURNAMES
from ketenbrug.simulators.reference import municipalities

Record = dict[str, Any]

# The sizes the generator is meant for; 1M is what the benchmark measures.
MAX_CLIENTS = 1_000_000

# Adults of 18 up to and including 75, in days (18 * 365.25 rounded up, 76 * 365.25 - 2).
_YOUNGEST_DAYS = 6576
_OLDEST_DAYS = 27757


@dataclass
class World:
    """Everything the five simulated source systems serve, plus the ground truth.

    Each list holds plain dicts in exactly the shapes of simulators/API.md; `persons` is
    the ground truth the sources were drawn from (one dict per real person, with
    `bsn_valid` saying whether its BSN was deliberately made to fail the eleven-test).
    `advance(days)` moves the world on in place; `version` counts those moves.
    """

    today: date
    seed: int = 0
    version: int = 0
    persons: list[Record] = field(default_factory=list)
    probation_clients: list[Record] = field(default_factory=list)
    probation_orders: list[Record] = field(default_factory=list)
    detentions: list[Record] = field(default_factory=list)
    involvements: list[Record] = field(default_factory=list)
    care_episodes: list[Record] = field(default_factory=list)
    agreements: list[Record] = field(default_factory=list)
    bookings: list[Record] = field(default_factory=list)

    def advance(self, days: int = 1, seed: int | None = None) -> dict[str, list[str]]:
        """Move the world `days` days on, in place; return the changed keys per dataset.

        See simulators/timeline.py. Refuses (ValueError) fewer than one day.
        """
        from ketenbrug.simulators.timeline import advance

        return advance(self, days, seed)

    def write_ground_truth(self, path: str | Path) -> Path:
        """Write the persons as JSON lines (or CSV when `path` ends in .csv); return the path."""
        from ketenbrug.simulators.ground_truth import write_ground_truth

        return write_ground_truth(self.persons, path)


def generate_world(
    clients: int = 2000,
    seed: int = 20261129,
    today: date | None = None,
    invalid_bsn_share: float = 0.0,
) -> World:
    """Return a synthetic world with `clients` probation clients, one person each.

    The same (clients, seed, today, invalid_bsn_share) always gives the same world. `today`
    defaults to the current date. `invalid_bsn_share` of the persons carry a BSN that fails
    the eleven-test in every source (a registration typo), flagged `bsn_valid: False`.
    Refuses (ValueError) fewer than one or more than 1,000,000 clients, and shares outside
    [0, 1].
    """
    if not 1 <= clients <= MAX_CLIENTS:
        raise ValueError(f"clients must be between 1 and {MAX_CLIENTS:,}")
    if not 0.0 <= invalid_bsn_share <= 1.0:
        raise ValueError("invalid_bsn_share must be between 0 and 1")
    # The world is millions of long-lived dicts without cycles: collecting while it grows
    # only walks them again and again, and afterwards every full collection would (1.8 s a
    # time at 100k clients, stalling servers and clients in this process). Build it with
    # the collector paused, then move it out of the collector's sight.
    paused = gc.isenabled()
    gc.disable()
    try:
        world = _generate(clients, seed, today or date.today(), invalid_bsn_share)
    finally:
        if paused:
            gc.enable()
    gc.freeze()
    return world


def _generate(clients: int, seed: int, today: date, invalid_bsn_share: float) -> World:
    def stream(name: str) -> tuple[random.Random, Clock]:
        # One random stream per source, so changing one source leaves the others as they were.
        rng = random.Random(f"{seed}:{name}")
        return rng, Clock(rng, today)

    persons = _persons(*stream("persons"), clients)
    if invalid_bsn_share:
        _invalidate_bsns(random.Random(f"{seed}:invalid_bsn"), persons, invalid_bsn_share)
    probation_clients, orders = justice.probation(*stream("probation"), persons)
    detentions = justice.detentions(*stream("dji"), persons)
    plans = {d["bsn"]: d["reintegration_plan"] for d in detentions}
    organisations = [c["organisation"] for c in probation_clients]
    agreements = social.agreements(*stream("agreements"))
    return World(
        today=today,
        seed=seed,
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
                "bsn_valid": True,
            }
        )
    return persons


def _invalidate_bsns(rng: random.Random, persons: list[Record], share: float) -> None:
    """Give about `share` of `persons` a BSN failing the eleven-test, flagged in place."""
    # Drawn from its own stream after the persons, so share 0 leaves the world as it was.
    taken = {p["bsn"] for p in persons}
    for person in persons:
        if rng.random() < share:
            wrong = invalidated_bsn(person["bsn"])
            if wrong not in taken:  # two persons must never share a BSN, not even a wrong one
                taken.add(wrong)
                person["bsn"], person["bsn_valid"] = wrong, False
