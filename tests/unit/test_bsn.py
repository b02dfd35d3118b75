"""The hub's eleven-test against the shared case table (tests/bsn_cases.py), and the
reading of a BSN a person types (parse_bsn)."""

import re

import pytest

from ketenbrug.privacy import is_valid_bsn
from ketenbrug.privacy.bsn import parse_bsn
from tests.bsn_cases import BSN_CASE_IDS, BSN_CASES


@pytest.mark.parametrize(("value", "valid", "why"), BSN_CASES, ids=BSN_CASE_IDS)
def test_eleven_test_answers_every_case(value, valid, why):
    assert is_valid_bsn(value) is valid, why


def test_every_nine_digit_string_with_a_non_ascii_digit_is_refused():
    # int() reads any Unicode decimal digit; the test must not, wherever it sits.
    valid = "123456782"
    for position in range(9):
        for zero in ("٠", "０", "०"):  # Arabic-Indic, full-width, Devanagari zeros
            digit = chr(ord(zero) + int(valid[position]))
            assert not is_valid_bsn(valid[:position] + digit + valid[position + 1:])


@pytest.mark.parametrize(("typed", "bsn"), [
    ("123456782", "123456782"),
    ("123 456 782", "123456782"),
    ("123.456.782", "123456782"),
    ("1234.56.782", "123456782"),  # the grouping on a Dutch ID card
    ("  012 345 672\n", "012345672"),  # pasted with whitespace around; leading zero kept
])
def test_a_typed_bsn_is_read_with_its_spaces_or_dots(typed, bsn):
    assert parse_bsn(typed) == bsn


@pytest.mark.parametrize(("typed", "says"), [
    ("12345", "is not 9 digits (it has 5)"),
    ("123 456 7820", "is not 9 digits (it has 10)"),
    ("123456789", "fails the eleven-test"),
    ("111 222 334", "fails the eleven-test"),
    ("000.000.000", "never issued"),
    ("123  456 782", "only the digits 0-9"),  # two spaces: not a typed grouping
    ("123..456.782", "only the digits 0-9"),
    ("123-456-782", "only the digits 0-9"),
    (".123456782", "only the digits 0-9"),
    ("12345678a", "only the digits 0-9"),
    ("１２３４５６７８２", "only the digits 0-9"),  # full-width digits
    ("   ", "no BSN given"),
])
def test_a_typed_bsn_that_is_not_one_says_why_in_one_line(typed, says):
    with pytest.raises(ValueError, match=re.escape(says)) as refused:
        parse_bsn(typed)
    message = str(refused.value)
    assert "\n" not in message
    assert not typed.strip() or typed.strip() not in message  # never repeats the input


def test_the_eleven_test_itself_still_refuses_what_parse_bsn_normalises():
    # The sources' values are never normalised: a grouped number there is no BSN.
    assert parse_bsn("123 456 782") == "123456782"
    assert not is_valid_bsn("123 456 782") and not is_valid_bsn(" 123456782")
