"""The hub's eleven-test against the shared case table (tests/bsn_cases.py)."""

import pytest

from ketenbrug.privacy import is_valid_bsn
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
