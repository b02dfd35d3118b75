"""Form checks on identifying fields, made at the boundary before they go into the vault.

The outcome lands as field names (never values) in `identity_issues`; the contract
quarantines a batch that has any, so a garbled, oversized or injected identity is held
for a steward instead of being linked, delivered or silently repaired.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

MAX_NAME_CHARS = 100
MAX_AGE_YEARS = 120
# Letters, joined by spaces, hyphens, apostrophes or dots ("van der Berg", "in 't Veld",
# "'t Hart", "D'Hondt-Smit", "J.P."): no digits, no formula or SQL punctuation.
_NAME = re.compile(r"['’]?[^\W\d_]+(?:(?:[ \-'’]{1,2}|\. ?)[^\W\d_]+)*\.?")
_POSTCODE = re.compile(r"[1-9]\d{3} ?[A-Z]{2}")
_HOUSE_NUMBER = re.compile(r"\d{1,5}(?:[ -]?[A-Za-z0-9]{1,4})?")
_STREET = re.compile(r"[^\W_][\w .'’/-]{0,99}")


def identity_issues(identity: Mapping[str, object], today: date | None = None) -> list[str]:
    """Names of the identifying fields in `identity` that are present but malformed."""
    today = today or date.today()
    issues = []
    for field, value in identity.items():
        if value in (None, "") or field == "bsn":  # the BSN has its own eleven-test flag
            continue
        text = str(value)
        if not _well_formed(field, text, today):
            issues.append(field)
    return issues


def _well_formed(field: str, text: str, today: date) -> bool:
    if field in ("given_name", "surname"):
        return len(text) <= MAX_NAME_CHARS and bool(_NAME.fullmatch(text))
    if field == "birth_date":
        return _plausible_birth_date(text, today)
    if field == "postcode":
        return bool(_POSTCODE.fullmatch(text))
    if field == "house_number":
        return bool(_HOUSE_NUMBER.fullmatch(text))
    if field == "street":
        return bool(_STREET.fullmatch(text))
    return len(text) <= MAX_NAME_CHARS


def _plausible_birth_date(text: str, today: date) -> bool:
    try:
        born = date.fromisoformat(text)
    except ValueError:
        return False
    return born <= today and today.year - born.year <= MAX_AGE_YEARS
