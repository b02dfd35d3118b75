"""What goes into a warm-handover package: the data twice (CSV and Parquet) and a manifest."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from ketenbrug.contracts.odcs import load_contract
from ketenbrug.privacy.csv_safe import cell_text, dates_as_dates, to_csv

CSV_NAME, PARQUET_NAME = "warm_handover.csv", "warm_handover.parquet"


def handover_files(columns: Sequence[str], records: Sequence[Sequence[object]]) -> dict[str, bytes]:
    """CSV (RFC 4180, formula-safe) and Parquet of the same rows.

    Parquet is typed as text, each value in the CSV's form (`true`/`false`, ISO dates)
    without its formula guard, so the two files read the same; a missing value is null.
    """
    texts = [[None if v is None else cell_text(v) for v in dates_as_dates(columns, r)]
             for r in records]
    table = pa.table({c: pa.array([r[i] for r in texts], type=pa.string())
                      for i, c in enumerate(columns)})
    parquet = io.BytesIO()
    pq.write_table(table, parquet)
    return {CSV_NAME: to_csv(columns, records), PARQUET_NAME: parquet.getvalue()}


def handover_manifest(*, purpose: str, legal_basis: str, as_of: str, rows: int, run_id: str,
                      key_version: int, source_datasets: Sequence[str],
                      source_as_of: Mapping[str, str | None], log_head: Mapping[str, object],
                      ) -> dict:
    """The package manifest: what, why, for when, from which contract versions, and how
    fresh each source's data is (when its newest published batch came in: older than the
    others when that source's latest batch is held in quarantine).

    `log_head` ({"seq", "hash"} of the disclosure log's last entry before this delivery)
    makes the recipient a witness: `audit verify --witness` checks the log still holds it.
    """
    return {
        "purpose": purpose, "legal_basis": legal_basis, "as_of_date": as_of,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "row_count": rows,
        "run_id": run_id, "key_version": key_version,
        "contracts": {ds: _contract_version(ds) for ds in source_datasets},
        "source_as_of": {ds: source_as_of.get(ds) for ds in source_datasets},
        "log_head": dict(log_head),
    }


def data_checksum(files: dict[str, bytes]) -> str:
    """SHA-256 over the CSV: the content a delivery is about, independent of its sealing."""
    return hashlib.sha256(files[CSV_NAME]).hexdigest()


def _contract_version(dataset: str) -> str:
    source, name = dataset.split(".")
    contract = load_contract(source, name)
    return f"{contract.document['id']} v{contract.version}"
