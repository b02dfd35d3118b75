"""Small helpers shared by the source generators."""

from __future__ import annotations

import random
import re
import unicodedata
from bisect import bisect
from collections.abc import Sequence
from functools import cache
from itertools import accumulate


class Weighted:
    """A fixed weighted choice; faster than `random.choices` when drawn once per record."""

    def __init__(self, values: Sequence, weights: Sequence[float]) -> None:
        self.values = tuple(values)
        self._cumulative = list(accumulate(weights))
        self._total = self._cumulative[-1]

    def draw(self, rng: random.Random):
        """Return one value, with probability proportional to its weight."""
        return self.values[bisect(self._cumulative, rng.random() * self._total)]


def between(rng: random.Random, low: int, high: int) -> int:
    """Return a uniform integer in [low, high]; a cheaper `randint` for bulk generation."""
    return low + int(rng.random() * (high - low + 1))


def pick(rng: random.Random, values: Sequence):
    """Return one element of `values`, uniformly; a cheaper `choice` for bulk generation."""
    return values[int(rng.random() * len(values))]


ORGANISATIONS = ("RN", "SVG", "LJR")
# Share of clients per probation organisation (RN carries most of the caseload).
ORGANISATION = Weighted(ORGANISATIONS, (75, 15, 10))

BASIC_CONDITIONS = ("valid_id", "housing", "income", "debts", "care")
CONDITION_STATUSES = ("arranged", "not_arranged", "unknown")
# About 15% of people leaving prison have no valid ID; other conditions fail more often.
_VALID_ID_STATUS = Weighted(CONDITION_STATUSES, (75, 15, 10))
_OTHER_STATUS = Weighted(CONDITION_STATUSES, (55, 30, 15))


def draw_status(rng: random.Random, condition: str) -> str:
    """Return a plausible status for one basic condition."""
    return (_VALID_ID_STATUS if condition == "valid_id" else _OTHER_STATUS).draw(rng)


@cache
def slug(name: str) -> str:
    """Return `name` as a mailbox-safe slug: "'s-Hertogenbosch" -> "s-hertogenbosch"."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
