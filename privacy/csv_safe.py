"""CSV as RFC 4180 has it, that a spreadsheet will not execute.

One form for every CSV the hub delivers: a header row, CRLF line ends, fields quoted only
where needed; dates `YYYY-MM-DD`, timestamps ISO 8601, booleans `true`/`false`, decimals
with a '.'. A text cell that starts with a formula trigger gets a leading ' (numbers are
written as numbers: a negative amount stays a number). The recipient may ask for the
semicolon form its spreadsheet opens directly (`semicolon_form`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_LINE_END = "\r\n"  # RFC 4180, section 2.1
# Spreadsheets take a UTF-8 file for their locale's code page unless it starts with a BOM.
_SPREADSHEET_BOM = "\ufeff"


def neutralise(value: object) -> str:
    """Return `value` as text, prefixed with ' when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_TRIGGERS) else text


def cell_text(value: object) -> str:
    """The one text form of a value in every delivered file (CSV, and Parquet's text):
    '' for none, `true`/`false`, ISO dates and timestamps, exact decimals."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):  # before date: a datetime is a date too
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def date_only(value: object) -> object:
    """A `<event>_date` column's value as a date: an engine may hand a date back as a
    midnight timestamp (or its text, `YYYY-MM-DD 00:00:00`); anything else as it was."""
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    if isinstance(value, str) and len(value) == 19 and value.endswith(" 00:00:00"):
        return value[:10]
    return value


def dates_as_dates(columns: Sequence[str], row: Sequence[object]) -> list[object]:
    """`row` with every value of a column named `*_date` passed through `date_only`."""
    return [date_only(v) if c.endswith("_date") else v for c, v in zip(columns, row, strict=True)]


def _cell(value: object) -> str:
    if isinstance(value, bool | int | float | Decimal | date):
        return cell_text(value)  # no formula: a '-' here is a sign
    return neutralise(value)


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """Return RFC 4180 CSV (UTF-8, CRLF, header row): `*_date` columns as dates, every text
    cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=_LINE_END)
    writer.writerow(columns)
    writer.writerows([_cell(v) for v in dates_as_dates(columns, row)] for row in rows)
    return buffer.getvalue().encode("utf-8")


def semicolon_form(data: bytes) -> bytes:
    """The same CSV with ';' between fields and a UTF-8 BOM, as a spreadsheet whose list
    separator is ';' (the Dutch locale's) opens it; values as they were (decimals keep
    their '.', cells stay neutralised)."""
    rows = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator=_LINE_END).writerows(rows)
    return (_SPREADSHEET_BOM + buffer.getvalue()).encode("utf-8")
