"""Dates and timestamps relative to the world's `today`, in the APIs' ISO formats."""

from __future__ import annotations

import random
from datetime import date

# Records were last changed somewhere in the 30 days before today.
UPDATE_WINDOW_DAYS = 30
_DAY_SECONDS = 24 * 3600


class Clock:
    """Turns day offsets from `today` into ISO dates and draws `updated_at` stamps."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self._rng = rng
        self.today = today
        self.ordinal = today.toordinal()
        # Formatting dates dominates bulk generation; the same few thousand recur.
        self._days: dict[int, str] = {}

    def day(self, offset: int) -> str:
        """Return the ISO date `offset` days after today (negative: before)."""
        text = self._days.get(offset)
        if text is None:
            text = self._days[offset] = date.fromordinal(self.ordinal + offset).isoformat()
        return text

    def updated_at(self) -> str:
        """Return a UTC timestamp ('...Z', whole seconds) in the 30 days before today."""
        second = int(self._rng.random() * UPDATE_WINDOW_DAYS * _DAY_SECONDS)
        days, rest = divmod(second, _DAY_SECONDS)
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{self.day(days - UPDATE_WINDOW_DAYS)}T{hours:02d}:{minutes:02d}:{seconds:02d}Z"
