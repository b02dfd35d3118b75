import pytest

from ketenbrug.privacy import is_valid_bsn


@pytest.mark.parametrize("bsn", ["111222333", "123456782", "999999990"])
def test_eleven_test_accepts_valid_numbers(bsn):
    assert is_valid_bsn(bsn)


@pytest.mark.parametrize("bsn", [
    "123456789",  # fails the eleven-test
    "000000000",  # passes the arithmetic, never issued
    "12345678",  # too short
    "1234567820",  # too long
    "12345678a",
    "",
    None,
    123456782,  # not text: a number loses leading zeros
])
def test_eleven_test_refuses_invalid_input(bsn):
    assert not is_valid_bsn(bsn)
