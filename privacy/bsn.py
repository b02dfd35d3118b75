"""The Dutch citizen service number (BSN) and its eleven-test: the one the hub and the
simulators share (simulators/bsn.py imports it)."""

import re

# ASCII digits only: `\d` would also take Arabic-Indic or full-width digits, which
# int() reads as numbers, so "١٢٣..." would pass as a BSN and link a person.
_NINE_DIGITS = re.compile(r"[0-9]{9}")
WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)  # the last digit counts negatively


def is_valid_bsn(value: object) -> bool:
    """True when `value` is a str of exactly nine ASCII digits that passes the eleven-test.

    Weights 9..2 and -1 for the last digit; the sum must be divisible by 11. Refused
    (False): anything not a str (a number loses leading zeros), other lengths, any
    non-ASCII digit, surrounding whitespace, and 000000000, which passes the arithmetic
    but is never issued.
    """
    if not isinstance(value, str) or not _NINE_DIGITS.fullmatch(value):
        return False
    if value == "000000000":
        return False
    return sum(int(d) * w for d, w in zip(value, WEIGHTS, strict=True)) % 11 == 0
