"""Corrections to earlier records: what a source system fixes or brings up to date on an
ordinary day (a RISc re-assessment, an extended order, a basic condition arranged, an
episode finished, a cap raised, a booking corrected)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ketenbrug.simulators.common import BASIC_CONDITIONS, CONDITION_STATUSES, between, pick

if TYPE_CHECKING:
    from ketenbrug.simulators.timeline import Day

Record = dict[str, Any]
_RISC_LEVELS = ("low", "medium", "high")
# How often a random pick is retried to find a record the correction applies to.
_TRIES = 20


def correct(day: Day, count: int) -> None:
    """Apply `count` corrections, each to one earlier record chosen at random."""
    for _ in range(count):
        pick(day.rng, _KINDS)(day)


def _find(day: Day, records: list[Record], fits: Callable[[Record], bool]) -> Record | None:
    """Return a random record that `fits`, or None after a few misses (or none at all)."""
    for _ in range(_TRIES if records else 0):
        record = pick(day.rng, records)
        if fits(record):
            return record
    return None


def _risc_level(day: Day) -> None:
    client = _find(day, day.world.probation_clients, lambda c: c["risc_level"] is not None)
    if client is not None:
        client["risc_level"] = pick(day.rng, [r for r in _RISC_LEVELS if r != client["risc_level"]])
        day.touch("probation.clients", client, "client_id")


def _order_extended(day: Day) -> None:
    order = _find(day, day.world.probation_orders,
                  lambda o: o["status"] == "active" and o["order_type"] != "advies")
    if order is not None:
        end = day.date.fromisoformat(order["end_date"]) + timedelta(days=between(day.rng, 30, 180))
        order["end_date"] = end.isoformat()
        day.touch("probation.orders", order, "order_id")


def _plan_condition(day: Day) -> None:
    detention = _find(day, day.world.detentions, lambda d: d["actual_release_date"] is None)
    if detention is not None:
        condition = pick(day.rng, BASIC_CONDITIONS)
        detention["reintegration_plan"][condition] = {"status": "arranged", "as_of": day.iso}
        day.touch("dji.detentions", detention, "registration_number")


def _involvement_condition(day: Day) -> None:
    involvement = _find(day, day.world.involvements, lambda i: True)
    if involvement is not None:
        condition = pick(day.rng, BASIC_CONDITIONS)
        seen = involvement["basic_conditions"][condition]["status"]
        status = pick(day.rng, [s for s in CONDITION_STATUSES if s != seen])
        involvement["basic_conditions"][condition] = {"status": status, "as_of": day.iso}
        day.touch("wijkteam.involvements", involvement, "involvement_id")


def _episode_status(day: Day) -> None:
    episode = _find(day, day.world.care_episodes,
                    lambda e: e["status"] in ("planned", "active", "onhold"))
    if episode is not None:
        if episode["status"] == "active":
            episode["status"] = "finished"
            episode["period"]["end"] = day.iso
        else:
            episode["status"] = "active"
        day.touch("care.episodes", episode, "id")


def _agreement_cap(day: Day) -> None:
    agreement = _find(day, day.world.agreements, lambda a: True)
    if agreement is not None:
        agreement["cap_hours"] += between(day.rng, 1, 10) * 10
        day.touch("municipal_orders.agreements", agreement, "agreement_id")


def _booking_hours(day: Day) -> None:
    booking = _find(day, day.world.bookings, lambda b: True)
    if booking is not None:
        quarters = between(day.rng, 1, 32)
        booking["hours"] = f"{quarters // 4}.{quarters % 4 * 25:02d}"
        day.touch("municipal_orders.bookings", booking, "booking_id")


_KINDS = (
    _risc_level, _order_extended, _plan_condition, _involvement_condition, _episode_status,
    _agreement_cap, _booking_hours,
)
