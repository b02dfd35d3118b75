from datetime import date

import pytest

from ketenbrug.privacy.identity_checks import identity_issues

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize("identity", [
    {"given_name": "Anna", "surname": "van der Berg", "birth_date": "1980-01-02"},
    {"given_name": "Jean-Paul", "surname": "in 't Veld"},
    {"given_name": "Zoë", "surname": "'t Hart", "postcode": "1234AB", "house_number": "12A"},
    {"given_name": "J.P.", "surname": "D'Hondt-Smit", "street": "Oude Gracht"},
    {"bsn": "anything: the BSN has its own check", "surname": None},
])
def test_real_names_and_addresses_pass(identity):
    assert identity_issues(identity, TODAY) == []


@pytest.mark.parametrize("field, value", [
    ("surname", "=HYPERLINK(\"http://x\",\"y\")"),
    ("surname", "'); DROP TABLE clients;--"),
    ("given_name", "A" * 101),
    ("given_name", "R2D2"),
    ("birth_date", "2027-01-01"),  # in the future
    ("birth_date", "1890-01-01"),  # older than anyone alive
    ("birth_date", "01-02-1980"),
    ("postcode", "0123AB"),
])
def test_malformed_identity_is_named_by_field(field, value):
    assert identity_issues({"given_name": "Anna", field: value}, TODAY) == [field]
