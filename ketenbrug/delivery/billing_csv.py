"""The billing statement as a municipality reads it: RFC 4180 CSV in euros, with its total.

Amounts are shown in euros with two decimals ('.'), computed exactly from the whole cents
the mart holds. The statement's total is the last row, marked `row_type` = `total`
(every line is `line`): a spreadsheet shows it under the lines, and a program that sums
the lines takes the rows whose `row_type` is `line`. The statement's JSON carries the
same total under `totals`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from ketenbrug.privacy.csv_safe import to_csv

LINE, TOTAL = "line", "total"
_CENT = Decimal("0.01")
# Mart column -> CSV column, in the CSV's order; cents columns shown in euros.
_IN_EUROS = {"tariff_cents_per_hour": "tariff_eur_per_hour", "amount_cents": "amount_eur"}
_SUMMED = ("hours_booked", "outside_period_hours", "over_cap_hours", "billable_hours",
           "amount_cents")
_ON_THE_TOTAL = ("municipality_code", "billing_month_date")


def euros(cents: int) -> Decimal:
    """Whole cents as euros with two decimals, exactly (no float on the way)."""
    return (Decimal(int(cents)) / 100).quantize(_CENT)


def csv_columns(statement_columns: Sequence[str]) -> list[str]:
    """The CSV's header: `row_type`, then the mart's columns with cents ones in euros."""
    return ["row_type", *(_IN_EUROS.get(c, c) for c in statement_columns)]


def statement_csv(statement_columns: Sequence[str], lines: Sequence[dict]) -> bytes:
    """The CSV of one statement: one `line` row per line, then its `total` row (sums of
    hours and amount; the other columns empty, apart from municipality and month)."""
    rows = [[LINE, *(_shown(c, line[c]) for c in statement_columns)] for line in lines]
    if lines:
        total = {c: sum((line[c] for line in lines), Decimal("0.00")) for c in _SUMMED}
        rows.append([TOTAL, *(_shown(c, total[c]) if c in total
                              else lines[0][c] if c in _ON_THE_TOTAL else None
                              for c in statement_columns)])
    return to_csv(csv_columns(statement_columns), rows)


def _shown(column: str, value: object) -> object:
    if column in _IN_EUROS and value is not None:
        return euros(value)  # type: ignore[arg-type]  # the mart's cents: integers
    return value
