"""The Dutch citizen service number (BSN) and its eleven-test."""

import re

_NINE_DIGITS = re.compile(r"\d{9}")
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def is_valid_bsn(value: object) -> bool:
    """True when `value` is a 9-digit string that passes the eleven-test.

    Weights 9..2 and -1 for the last digit; the sum must be divisible by 11.
    000000000 passes the arithmetic but is never issued, so it is refused.
    """
    if not isinstance(value, str) or not _NINE_DIGITS.fullmatch(value):
        return False
    if value == "000000000":
        return False
    return sum(int(d) * w for d, w in zip(value, _WEIGHTS, strict=True)) % 11 == 0
