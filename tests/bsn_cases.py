"""One table of BSN cases that the hub's eleven-test and the simulators' both answer.

The simulators import the hub's eleven-test (privacy.bsn); the table holds the two
callers to the same verdicts, so a world never serves as valid a BSN the hub refuses.
"""

from __future__ import annotations

# (value, valid, why)
BSN_CASES: list[tuple[object, bool, str]] = [
    ("111222333", True, "valid"),
    ("123456782", True, "valid"),
    ("999999990", True, "valid"),
    ("012345672", True, "valid with a leading zero"),
    ("123456789", False, "fails the eleven-test"),
    ("111222334", False, "one digit off a valid number"),
    ("000000000", False, "passes the arithmetic, never issued"),
    ("12345678", False, "eight digits"),
    ("1234567820", False, "ten digits"),
    ("12345678a", False, "a letter"),
    ("١٢٣٤٥٦٧٨٢", False, "Arabic-Indic digits of 123456782"),
    ("１２３４５６７８２", False, "full-width digits of 123456782"),
    ("۱۲۳۴۵۶۷۸۲", False, "Persian digits of 123456782"),
    (" 123456782", False, "leading whitespace"),
    ("123456782\n", False, "trailing newline"),
    ("1234.56.782", False, "separators: the form a free-text detector reads, not a BSN value"),
    ("", False, "empty"),
    (None, False, "not text"),
    (123456782, False, "a number, not text: a number loses leading zeros"),
    (b"123456782", False, "bytes, not text"),
]
BSN_CASE_IDS = [why for _, _, why in BSN_CASES]
