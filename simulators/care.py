"""Care-provider source: FHIR R4 EpisodeOfCare resources as plain dicts."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from ketenbrug.simulators import texts
from ketenbrug.simulators.clock import Clock
from ketenbrug.simulators.common import Weighted, between, pick
from ketenbrug.simulators.names import CARE_PROVIDERS

Record = dict[str, Any]

CATEGORY_SYSTEM = "https://ketenbrug.example/fhir/CodeSystem/care-category"
BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
AGB_SYSTEM = "http://fhir.nl/fhir/NamingSystem/agb-z"
CARE_SHARE = 0.30
CATEGORIES = ("addiction", "mental_health", "intellectual_disability", "forensic")
# SVG (addiction probation) clients are mostly in addiction or mental-health care.
_SVG_CATEGORY = Weighted(CATEGORIES, (55, 30, 5, 10))
_OTHER_CATEGORY = Weighted(CATEGORIES, (25, 30, 15, 30))
STATUSES = ("planned", "active", "onhold", "finished", "cancelled")
_STATUS = Weighted(STATUSES, (8, 52, 8, 27, 5))


def episodes(
    rng: random.Random, clock: Clock, persons: list[Record], organisations: list[str]
) -> list[Record]:
    """Return EpisodeOfCare resources for about 30% of persons.

    `organisations` gives each person's probation organisation (same order as `persons`);
    it steers the care category. Finished and cancelled episodes have a period end.
    """
    resources: list[Record] = []
    for person, org in zip(persons, organisations, strict=True):
        if rng.random() >= CARE_SHARE:
            continue
        number = len(resources) + 1
        category = (_SVG_CATEGORY if org == "SVG" else _OTHER_CATEGORY).draw(rng)
        agb, provider = pick(rng, CARE_PROVIDERS[category])
        status = _STATUS.draw(rng)
        start = between(rng, 1, 60) if status == "planned" else -between(rng, 0, 900)
        period = {"start": clock.day(start)}
        if status in ("finished", "cancelled"):
            period["end"] = clock.day(between(rng, start, 0))
        full_name = f"{person['given_name']} {person['surname']}"
        resources.append(
            {
                "resourceType": "EpisodeOfCare",
                "id": f"eoc-{number:07d}",
                "meta": {"lastUpdated": clock.updated_at()},
                "text": {"status": "generated", "div": texts.care_narrative(rng, full_name)},
                "status": status,
                "type": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category}]}],
                "diagnosis": [
                    {"condition": {"reference": f"Condition/cond-{number:07d}-{i}"}}
                    for i in range(1, between(rng, 1, 2) + 1)
                ],
                "patient": {
                    "identifier": {"system": BSN_SYSTEM, "value": person["bsn"]},
                    "display": full_name,
                },
                "managingOrganization": {
                    "identifier": {"system": AGB_SYSTEM, "value": agb},
                    "display": provider,
                },
                "period": period,
            }
        )
    return resources


def new_episode(rng: random.Random, today: date, person: Record, number: int) -> Record:
    """Return a planned EpisodeOfCare starting within a month of `today`, numbered `number`;
    `meta.lastUpdated` is left for the caller to stamp."""
    clock = Clock(rng, today)
    category = _OTHER_CATEGORY.draw(rng)
    agb, provider = pick(rng, CARE_PROVIDERS[category])
    full_name = f"{person['given_name']} {person['surname']}"
    return {
        "resourceType": "EpisodeOfCare",
        "id": f"eoc-{number:07d}",
        "meta": {"lastUpdated": ""},
        "text": {"status": "generated", "div": texts.care_narrative(rng, full_name)},
        "status": "planned",
        "type": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category}]}],
        "diagnosis": [{"condition": {"reference": f"Condition/cond-{number:07d}-1"}}],
        "patient": {
            "identifier": {"system": BSN_SYSTEM, "value": person["bsn"]},
            "display": full_name,
        },
        "managingOrganization": {
            "identifier": {"system": AGB_SYSTEM, "value": agb},
            "display": provider,
        },
        "period": {"start": clock.day(between(rng, 1, 30))},
    }


PATIENT_NUMBER_SYSTEM = "https://ketenbrug.example/fhir/NamingSystem/patient-number"


def patient(patient_id: str, bsn: str, person: Record | None) -> Record:
    """Return the Patient resource a care provider keeps: the BSN and its own number, and,
    for a person of the world, the name, birth date, address and a narrative (synthetic).
    A BSN no person has (a tampered one) gets a Patient with identifiers only."""
    resource: Record = {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": [
            {"use": "official", "system": BSN_SYSTEM, "value": bsn},
            {"use": "usual", "system": PATIENT_NUMBER_SYSTEM, "value": patient_id},
        ],
    }
    if person is None:
        return resource
    full_name = f"{person['given_name']} {person['surname']}"
    return {
        **resource,
        "text": {"status": "generated",
                 "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{full_name}, geboren '
                        f"{person['birth_date']}</div>"},
        "name": [{"use": "official", "text": full_name, "family": person["surname"],
                  "given": [person["given_name"]]}],
        "birthDate": person["birth_date"],
        "address": [{"use": "home", "line": [f"{person['street']} {person['house_number']}"],
                     "postalCode": person["postcode"], "city": person["city"],
                     "country": "NL"}],
    }
