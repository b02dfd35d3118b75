"""Delivery of billing statements: one per municipality and month, as CSV and JSON, with a
manifest (row count and SHA-256 per file) under outbox/<CBS code>/billing/.

Statements hold agreements, hours and amounts - no personal data - so they are not
sealed and nothing is re-identified; each municipality's delivery is still written to the
disclosure log. Amounts are whole cents as billing_statements computed them (rounded
once per line, halves away from zero); a statement's total is the plain sum of its
lines, never rounded again.
"""

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from ketenbrug import warehouse as warehouse_db
from ketenbrug.contracts.registers import load_purposes
from ketenbrug.databases import Target, marts_schema
from ketenbrug.delivery.unchanged import CONTENT_STAMP, content_stamp, last_stamps
from ketenbrug.failpoints import failpoint
from ketenbrug.privacy import Recipient, append_entry, read_log
from ketenbrug.privacy.csv_safe import to_csv
from ketenbrug.privacy.disclosure_log import LogLocation, log_head

PURPOSE = "municipal_billing"
FUNDING_STREAM = "municipal"
SOURCE_DATASETS = ("municipal_orders.agreements", "municipal_orders.bookings")
STATEMENT_COLUMNS = (
    "statement_line_id", "municipality_code", "agreement_id", "organisation",
    "billing_month_date", "hours_booked", "outside_period_hours", "over_cap_hours",
    "billable_hours", "tariff_cents_per_hour", "amount_cents", "cap_hours",
    "cumulative_hours", "cap_used_pct", "is_outside_period", "is_over_cap",
)
HOUR_TOTALS = ("hours_booked", "outside_period_hours", "over_cap_hours", "billable_hours")
ROUNDING_RULE = ("amount_cents per line = billable_hours x tariff_cents_per_hour, rounded once "
                 "to whole cents, halves away from zero; the total is the sum of the lines")
_FILE_PREFIX = "billing_statement_"


def _text(value: object) -> object:
    """JSON- and CSV-ready: decimals as exact text, dates ISO, booleans lowercase."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | date):
        return str(value)
    return value


def statement(code: str, month: str, lines: Sequence[dict]) -> dict:
    """Return the JSON statement of one municipality and month: lines, totals and flags."""
    return {
        "municipality_code": code, "billing_month": month, "currency": "EUR",
        "funding_stream": FUNDING_STREAM, "rounding": ROUNDING_RULE,
        "agreement_ids": sorted({line["agreement_id"] for line in lines}),
        "lines": [{c: _text(line[c]) for c in STATEMENT_COLUMNS} for line in lines],
        "totals": {
            **{c: str(sum((line[c] for line in lines), Decimal("0.00"))) for c in HOUR_TOTALS},
            "amount_cents": sum(int(line["amount_cents"]) for line in lines),
        },
        "flags": {
            "lines_outside_period": sum(bool(line["is_outside_period"]) for line in lines),
            "lines_over_cap": sum(bool(line["is_over_cap"]) for line in lines),
        },
    }


def _write(folder: Path, name: str, data: bytes, rows: int, **extra: object) -> dict:
    (folder / name).write_bytes(data)
    return {"file": name, "row_count": rows, "sha256": hashlib.sha256(data).hexdigest(), **extra}


def _read_lines(warehouse: Target) -> tuple[list[dict], dict[str, str | None]]:
    """The statement lines, and how fresh each source's published data is (one read-only
    unit of work on a DuckDB or PostgreSQL warehouse)."""
    with warehouse_db.connect(warehouse, read_only=True) as con:
        cursor = con.execute(
            f"select {', '.join(STATEMENT_COLUMNS)} "  # noqa: S608 (constant columns)
            f"from {marts_schema(con)}.billing_statements "
            "order by municipality_code, billing_month_date, agreement_id")
        lines = [dict(zip(STATEMENT_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        return lines, warehouse_db.published_as_of(con)


@dataclass(frozen=True)
class BillingDelivery:
    delivered: dict[str, dict]  # CBS code -> statements, agreement ids, amount in cents
    unchanged: list[str]  # CBS codes whose statements are as last delivered


def deliver_billing_statements(*, warehouse: Target, outbox: Path, disclosure_log: LogLocation,
                               as_of: str, run_id: str, redeliver: bool = False
                               ) -> BillingDelivery:
    """Write every municipality's statements and manifest under `outbox`, log each delivery,
    where they differ from those last delivered to it (all: `redeliver`).
    """
    purpose = load_purposes()[PURPOSE]
    by_municipality: dict[str, dict[str, list[dict]]] = {}
    lines, as_of_per_source = _read_lines(warehouse)
    for line in lines:
        month = line["billing_month_date"].strftime("%Y-%m")
        by_municipality.setdefault(line["municipality_code"], {}).setdefault(month, []).append(line)
    logged = read_log(disclosure_log)
    recover_billing(outbox, logged)
    last = {} if redeliver else last_stamps(logged, PURPOSE)
    delivered, unchanged = {}, []
    for code, months in sorted(by_municipality.items()):
        # The statements hold no personal data: their own lines are the content.
        stamp = content_stamp(STATEMENT_COLUMNS, sorted(months.items()))
        if last.get(str(Recipient("municipality", code))) == stamp:
            unchanged.append(code)
            continue
        # Written whole beside the delivered folder, logged, then swapped in: a recipient
        # sees the old statements or the new ones, never a mix, and only logged ones.
        folder = outbox / code / STAGED
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        files, amount_cents = [], 0
        for month, lines in sorted(months.items()):
            body = statement(code, month, lines)
            amount_cents += body["totals"]["amount_cents"]
            stem = f"{_FILE_PREFIX}{code}_{month}"
            csv_data = to_csv(STATEMENT_COLUMNS,
                              [[_text(line[c]) for c in STATEMENT_COLUMNS] for line in lines])
            json_data = (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8")
            extra = {"billing_month": month, "amount_cents": body["totals"]["amount_cents"]}
            files += [_write(folder, f"{stem}.csv", csv_data, len(lines), **extra),
                      _write(folder, f"{stem}.json", json_data, len(lines), **extra)]
        agreements = sorted({line["agreement_id"] for ls in months.values() for line in ls})
        manifest = {
            "recipient": code, "purpose": PURPOSE, "legal_basis": purpose.legal_basis,
            "funding_stream": FUNDING_STREAM, "as_of_date": as_of, "run_id": run_id,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "agreement_ids": agreements, "rounding": ROUNDING_RULE, "files": files,
            "source_as_of": {ds: as_of_per_source.get(ds) for ds in SOURCE_DATASETS},
            # The log's head before this delivery: the municipality holds a witness of it.
            "log_head": log_head(disclosure_log),
        }
        manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
        _write(folder, "manifest.json", manifest_bytes, len(files))
        append_entry(disclosure_log, {
            "event": "delivery", "recipient": str(Recipient("municipality", code)),
            "purpose": PURPOSE, "legal_basis": purpose.legal_basis,
            "fields": list(STATEMENT_COLUMNS), "persons": 0,
            "source_datasets": list(SOURCE_DATASETS), "run_id": run_id,
            "files": [f["file"] for f in files], "agreement_ids": agreements,
            "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
            CONTENT_STAMP: stamp,
        })
        failpoint("billing:logged")
        _swap_in(folder)
        delivered[code] = {"statements": len(months), "agreement_ids": agreements,
                           "amount_cents": amount_cents}
    return BillingDelivery(delivered, unchanged)


STAGED = "billing.partial"
_DELIVERED = "billing"
_REPLACED = "billing.old"


def recover_billing(outbox: Path, entries: list[dict]) -> tuple[int, int]:
    """Finish or undo billing deliveries a killed run left half-done: (completed, discarded).

    A staged folder whose manifest the log's `entries` record as delivered is swapped in;
    one they do not record was never delivered and is removed. A swap cut short is
    finished.
    """
    logged = {e["manifest_sha256"] for e in entries
              if e.get("event") == "delivery" and e.get("manifest_sha256")}
    completed = discarded = 0
    for staged in sorted(outbox.glob(f"*/{STAGED}")) if outbox.exists() else []:
        manifest = staged / "manifest.json"
        if manifest.exists() and hashlib.sha256(manifest.read_bytes()).hexdigest() in logged:
            _swap_in(staged)
            completed += 1
        else:
            shutil.rmtree(staged)
            discarded += 1
    for replaced in sorted(outbox.glob(f"*/{_REPLACED}")) if outbox.exists() else []:
        shutil.rmtree(replaced)  # the new folder is in place (or staged and handled above)
    return completed, discarded


def _swap_in(staged: Path) -> None:
    delivered, replaced = staged.with_name(_DELIVERED), staged.with_name(_REPLACED)
    if replaced.exists():
        shutil.rmtree(replaced)
    if delivered.exists():
        delivered.rename(replaced)
    staged.rename(delivered)
    if replaced.exists():
        shutil.rmtree(replaced)
