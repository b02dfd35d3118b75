"""Burgerservicenummers (BSN): the eleven-test and a generator of valid synthetic ones."""

from __future__ import annotations

import random

# Weights of the BSN eleven-test; the last digit counts negatively.
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def is_valid_bsn(value: str) -> bool:
    """Return True when `value` is nine ASCII digits that pass the BSN eleven-test.

    Refuses (returns False for) anything that is not a str of exactly nine digits, and
    000000000, which passes the arithmetic but is never issued.
    """
    if not isinstance(value, str) or len(value) != 9 or not value.isascii():
        return False
    if not value.isdigit() or value == "000000000":
        return False
    total = sum(w * int(d) for w, d in zip(_WEIGHTS, value, strict=True))
    return total % 11 == 0


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
