"""The CSV a recipient reads: RFC 4180, one text form per type, formula-safe; and the
handover package's Parquet saying the same as its CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ketenbrug.delivery.handover_package import CSV_NAME, PARQUET_NAME, handover_files
from ketenbrug.privacy.csv_safe import semicolon_form, to_csv

COLUMNS = ("surname", "birth_date", "expected_date", "needs_care_handover", "created_at",
           "amount_eur", "note")
ROW = ("Jansen, de", date(1975, 7, 18), datetime(2026, 12, 1), False,
       datetime(2026, 11, 29, 6, 30, tzinfo=UTC), Decimal("-12.50"), 'zegt "ja"\nen nee')


def _rows(data: bytes, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""),
                           delimiter=delimiter))


def test_rfc_4180_header_crlf_and_quoting_only_where_needed():
    data = to_csv(COLUMNS, [ROW, ("Vos", None, None, True, None, 3, "")])
    header, first, second = _rows(data)
    assert header == list(COLUMNS)
    assert data.count(b"\r\n") == 3 and data.endswith(b"\r\n")  # one per record
    assert data.startswith(b"surname,birth_date,")  # nothing quoted that need not be
    assert b'"Jansen, de"' in data and b'"zegt ""ja""\nen nee"' in data
    assert first[0] == "Jansen, de" and first[6] == 'zegt "ja"\nen nee'
    assert second == ["Vos", "", "", "true", "", "3", ""]


def test_dates_without_time_timestamps_iso_booleans_lowercase():
    [_, row] = _rows(to_csv(COLUMNS, [ROW]))
    assert row[1:6] == ["1975-07-18", "2026-12-01", "false", "2026-11-29T06:30:00+00:00",
                        "-12.50"]  # a midnight timestamp in a _date column is a date


@pytest.mark.parametrize("value", ["2026-12-01 00:00:00", datetime(2026, 12, 1)])
def test_a_date_column_an_engine_returned_as_midnight_is_a_date(value):
    [_, [cell]] = _rows(to_csv(["expected_date"], [[value]]))
    assert cell == "2026-12-01"


def test_text_that_a_spreadsheet_would_execute_is_neutralised_but_numbers_are_numbers():
    [_, row] = _rows(to_csv(["organisation", "note", "amount_eur"],
                            [["=SVG", "-1+1", Decimal("-3.00")]]))
    assert row == ["'=SVG", "'-1+1", "-3.00"]


def test_the_semicolon_form_holds_the_same_cells_for_a_spreadsheet():
    rfc = to_csv(COLUMNS, [ROW])
    spreadsheet = semicolon_form(rfc)
    assert spreadsheet.startswith("\ufeff".encode()) and b"\r\n" in spreadsheet
    assert spreadsheet.splitlines()[0].endswith(b";".join(c.encode() for c in COLUMNS))
    assert _rows(spreadsheet, ";") == _rows(rfc)


def test_the_packages_parquet_reads_as_its_csv_without_the_formula_guard():
    files = handover_files(COLUMNS, [ROW, ("=cmd", None, date(2026, 12, 2), True, None,
                                           Decimal("1.00"), None)])
    table = pq.read_table(pa.BufferReader(files[PARQUET_NAME]))
    assert all(field.type == pa.string() for field in table.schema)
    parquet = table.to_pylist()
    [_, *csv_rows] = _rows(files[CSV_NAME])
    assert parquet[0] == dict(zip(COLUMNS, csv_rows[0], strict=True))
    assert parquet[1]["surname"] == "=cmd" and csv_rows[1][0] == "'=cmd"
    assert parquet[1]["birth_date"] is None and csv_rows[1][1] == ""
    assert parquet[1]["needs_care_handover"] == "true"
