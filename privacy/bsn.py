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


# What a person types: digit groups, each pair of groups joined by one space or one dot
# ("123 456 782", "123.456.782", "1234.56.782"), with whitespace around the whole.
_TYPED = re.compile(r"[0-9]+(?:[ .][0-9]+)*")


def parse_bsn(text: str) -> str:
    """Return the BSN a person typed as its nine digits, for user input only.

    Accepts surrounding whitespace and single spaces or dots between digit groups.
    Refuses (ValueError, one line that never repeats the input) anything else: other
    characters or separators, a length other than nine digits, 000000000, and a number
    whose check digit fails the eleven-test. The sources' values stay with the strict
    `is_valid_bsn`: nothing is normalised there.
    """
    typed = text.strip()
    if not typed:
        raise ValueError("no BSN given")
    if not _TYPED.fullmatch(typed):
        raise ValueError("a BSN holds only the digits 0-9, optionally in groups joined by "
                         "one space or one dot (123 456 782, 1234.56.782)")
    digits = typed.replace(" ", "").replace(".", "")
    if len(digits) != 9:
        raise ValueError(f"that BSN is not 9 digits (it has {len(digits)})")
    if digits == "000000000":
        raise ValueError("000000000 is never issued as a BSN")
    if not is_valid_bsn(digits):
        raise ValueError("that BSN fails the eleven-test (its check digit is wrong)")
    return digits
