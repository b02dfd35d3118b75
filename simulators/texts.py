"""Synthetic free text for the fields the hub must never take (notes, offences, narratives).

The text only has to exist and look like what a case worker writes, so the hub's refusal
of these fields is tested on something realistic. It is built from fixed fragments.
"""

from __future__ import annotations

import random

from ketenbrug.simulators.common import between, pick

# fmt: off
_TOPICS = (
    "huisvesting", "schulden", "dagbesteding", "middelengebruik", "netwerk", "werk",
    "identiteitsbewijs", "inkomen", "gezinssituatie", "agressie",
)
_MOODS = ("gemotiveerd", "wisselend gemotiveerd", "afwachtend", "open", "gesloten")
_OFFENCES = (
    "Winkeldiefstal in vereniging", "Eenvoudige mishandeling", "Rijden onder invloed",
    "Vernieling van een bushokje", "Bedreiging van een buurtbewoner", "Inbraak in een schuur",
    "Handel in softdrugs", "Oplichting via een online marktplaats", "Heling van fietsen",
    "Huiselijk geweld",
)
_CIRCUMSTANCES = (
    "samen met een bekende", "onder invloed van alcohol", "na een ruzie", "in de nachtelijke uren",
    "tijdens een proeftijd", "zonder eerdere antecedenten",
)
_ACTIVITIES = (
    "Gesprek met wijkteam", "Groepsbijeenkomst", "Casusoverleg", "Training medewerkers",
    "Huisbezoek",
)
# fmt: on


def officer_note(rng: random.Random, given_name: str) -> str:
    """Return a probation officer's note (synthetic)."""
    return (
        f"{given_name} kwam {pick(rng, _MOODS)} op gesprek. Aandachtspunt: "
        f"{pick(rng, _TOPICS)}; volgende afspraak over {between(rng, 1, 4)} weken."
    )


def offence(rng: random.Random) -> str:
    """Return an offence description (synthetic)."""
    return f"{pick(rng, _OFFENCES)}; {pick(rng, _CIRCUMSTANCES)}."


def case_note(rng: random.Random, given_name: str) -> str:
    """Return a neighbourhood team's case note (synthetic)."""
    return (
        f"Huisbezoek bij {given_name}: zorgen over {pick(rng, _TOPICS)} en "
        f"{pick(rng, _TOPICS)}. Cliënt is {pick(rng, _MOODS)}."
    )


def booking_note(rng: random.Random) -> str:
    """Return a time booking's note (synthetic)."""
    return f"{pick(rng, _ACTIVITIES)} rond {pick(rng, _TOPICS)}, {between(rng, 1, 9)} deelnemers."


def care_narrative(rng: random.Random, full_name: str) -> str:
    """Return an EpisodeOfCare narrative as an XHTML div (synthetic)."""
    return (
        '<div xmlns="http://www.w3.org/1999/xhtml">'
        f"{full_name} is in behandeling; besproken: {pick(rng, _TOPICS)}. "
        f"Cliënt is {pick(rng, _MOODS)}.</div>"
    )
