"""Burgerservicenummers (BSN): a generator of valid synthetic ones.

The eleven-test is the hub's own (privacy.bsn), so the world and the hub never disagree
on what a valid BSN is.
"""

from __future__ import annotations

import random

from ketenbrug.privacy.bsn import WEIGHTS as _WEIGHTS
from ketenbrug.privacy.bsn import is_valid_bsn

__all__ = ["invalidated_bsn", "is_valid_bsn", "random_bsn"]


def random_bsn(rng: random.Random) -> str:
    """Return a random nine-digit string that passes the eleven-test.

    Draws eight digits and derives the ninth; about one draw in eleven needs a check
    digit of 10 and is redrawn.
    """
    while True:
        body = 10_000_000 + int(rng.random() * 90_000_000)  # no leading zero: looks issued
        digits = str(body)
        check = sum(w * int(d) for w, d in zip(_WEIGHTS[:8], digits, strict=True)) % 11
        if check < 10:
            return digits + str(check)


def invalidated_bsn(value: str) -> str:
    """Return `value` with its check digit changed so that it fails the eleven-test.

    The result is still nine ASCII digits, as a mistyped BSN in a source register is. Refuses
    (ValueError) anything that is not nine digits.
    """
    if not (isinstance(value, str) and len(value) == 9 and value.isascii() and value.isdigit()):
        raise ValueError("a BSN has nine digits")
    # Any other last digit breaks the sum modulo 11: the last digit weighs -1.
    return value[:8] + str((int(value[8]) + 1) % 10)
