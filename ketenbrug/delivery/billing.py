"""Delivery of billing statements: one per municipality and closed month, as CSV and JSON,
with a manifest (row count and SHA-256 per file) signed by the hub (manifest.sig) under
outbox/<CBS code>/billing/<month>/, and the hub's public key in outbox/<CBS code>/.

Statements hold agreements, hours and amounts - no personal data - so they are not
sealed and nothing is re-identified; each municipality's delivery is still written to the
disclosure log. Amounts are whole cents as billing_statements computed them (rounded
once per line, halves away from zero); a statement's total is the plain sum of its
lines, never rounded again. The CSV shows them in euros and ends with the total
(billing_csv.py); the JSON carries both cents and euros.
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
from ketenbrug.delivery.billing_csv import euros, statement_csv
from ketenbrug.delivery.billing_manifest import sign_manifest
from ketenbrug.delivery.unchanged import CONTENT_STAMP, content_stamp
from ketenbrug.failpoints import failpoint
from ketenbrug.privacy import Recipient, append_entry, read_log
from ketenbrug.privacy.csv_safe import cell_text, date_only
from ketenbrug.privacy.disclosure_log import LogLocation, log_head
from ketenbrug.privacy.hub_key import hub_key_fingerprint, publish_hub_key
from ketenbrug.privacy.sealing import hub_key_id, load_or_create_signing_key

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
    """JSON-ready, in the CSV's form: decimals as exact text, dates ISO, booleans lowercase."""
    if isinstance(value, bool | Decimal | date):
        return cell_text(date_only(value))
    return value


def statement(code: str, month: str, lines: Sequence[dict]) -> dict:
    """Return the JSON statement of one municipality and month: lines, totals and flags."""
    cents = sum(int(line["amount_cents"]) for line in lines)
    return {
        "municipality_code": code, "billing_month": month, "currency": "EUR",
        "funding_stream": FUNDING_STREAM, "rounding": ROUNDING_RULE,
        "agreement_ids": sorted({line["agreement_id"] for line in lines}),
        "lines": [{**{c: _text(line[c]) for c in STATEMENT_COLUMNS},
                   "amount_eur": str(euros(line["amount_cents"]))} for line in lines],
        "totals": {
            **{c: str(sum((line[c] for line in lines), Decimal("0.00"))) for c in HOUR_TOTALS},
            "amount_cents": cents, "amount_eur": str(euros(cents)),
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
    delivered: dict[str, dict]  # CBS code -> months, agreement ids, amount in cents
    unchanged: list[str]  # <CBS code>/<month>: statements as last delivered
    open_months: list[str]  # months with lines that were not asked for (not closed, say)


def deliver_billing_statements(*, warehouse: Target, outbox: Path, disclosure_log: LogLocation,
                               keys_dir: Path, as_of: str, run_id: str, months: Sequence[str],
                               redeliver: bool = False) -> BillingDelivery:
    """Write each municipality's statement of each of `months` (YYYY-MM) with its manifest,
    signed with the hub's key in `keys_dir`, under outbox/<CBS code>/billing/<month>/ and
    log it, where it differs from the one last delivered for that month (all of them:
    `redeliver`). A month delivered again is a correction: its manifest names the delivery
    it supersedes.
    """
    purpose = load_purposes()[PURPOSE]
    signing_key = load_or_create_signing_key(keys_dir)
    hub_key = signing_key.public_key()
    asked = set(months)
    by_statement: dict[tuple[str, str], list[dict]] = {}
    lines, as_of_per_source = _read_lines(warehouse)
    for line in lines:
        month = line["billing_month_date"].strftime("%Y-%m")
        by_statement.setdefault((line["municipality_code"], month), []).append(line)
    logged = read_log(disclosure_log)
    recover_billing(outbox, logged)
    last = _last_deliveries(logged)
    delivered: dict[str, dict] = {}
    unchanged = []
    for (code, month), lines in sorted(by_statement.items()):
        if month not in asked:
            continue
        # The statements hold no personal data: their own lines are the content.
        stamp = content_stamp(STATEMENT_COLUMNS, lines)
        earlier = last.get((str(Recipient("municipality", code)), month))
        if earlier is not None and earlier[CONTENT_STAMP] == stamp and not redeliver:
            unchanged.append(f"{code}/{month}")
            continue
        # Written whole beside the delivered folder, logged, then swapped in: a recipient
        # sees the old statement or the new one, never a mix, and only logged ones.
        folder = outbox / code / _DELIVERED / f"{month}{STAGED}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        body = statement(code, month, lines)
        stem = f"{_FILE_PREFIX}{code}_{month}"
        csv_data = statement_csv(STATEMENT_COLUMNS, lines)
        json_data = (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8")
        amount_cents = body["totals"]["amount_cents"]
        files = [_write(folder, f"{stem}.csv", csv_data, len(lines) + 1),  # + the total row
                 _write(folder, f"{stem}.json", json_data, len(lines))]
        manifest = {
            "recipient": code, "purpose": PURPOSE, "legal_basis": purpose.legal_basis,
            "funding_stream": FUNDING_STREAM, "billing_month": month, "as_of_date": as_of,
            "run_id": run_id, "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "agreement_ids": body["agreement_ids"], "amount_cents": amount_cents,
            "amount_eur": body["totals"]["amount_eur"], "rounding": ROUNDING_RULE,
            "files": files, "hub_key_id": hub_key_id(hub_key),
            "hub_key_fingerprint": hub_key_fingerprint(hub_key),
            # A correction names the statement it replaces; the municipality keeps both.
            "supersedes": earlier["manifest_sha256"] if earlier else None,
            "source_as_of": {ds: as_of_per_source.get(ds) for ds in SOURCE_DATASETS},
            # The log's head before this delivery: the municipality holds a witness of it.
            "log_head": log_head(disclosure_log),
        }
        manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
        _write(folder, "manifest.json", manifest_bytes, len(files))
        sign_manifest(folder, manifest_bytes, signing_key)
        publish_hub_key(outbox / code, hub_key)  # what the signature is checked with
        append_entry(disclosure_log, {
            "event": "delivery", "recipient": str(Recipient("municipality", code)),
            "purpose": PURPOSE, "legal_basis": purpose.legal_basis,
            "fields": list(STATEMENT_COLUMNS), "persons": 0,
            "source_datasets": list(SOURCE_DATASETS), "run_id": run_id,
            BILLING_MONTH: month, "files": [f["file"] for f in files],
            "agreement_ids": body["agreement_ids"],
            "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
            CONTENT_STAMP: stamp,
        })
        failpoint("billing:logged")
        _swap_in(folder)
        done = delivered.setdefault(code, {"months": [], "agreement_ids": [], "amount_cents": 0})
        done["months"].append(month)
        done["agreement_ids"] = sorted({*done["agreement_ids"], *body["agreement_ids"]})
        done["amount_cents"] += amount_cents
    open_months = sorted({month for _, month in by_statement} - asked)
    return BillingDelivery(delivered, unchanged, open_months)


BILLING_MONTH = "billing_month"  # the field of a billing delivery entry that names its month


def _last_deliveries(entries: list[dict]) -> dict[tuple[str, str], dict]:
    """Per recipient and billing month, the log entry of its last statement delivered."""
    return {(e["recipient"], e[BILLING_MONTH]): e for e in entries
            if e.get("event") == "delivery" and e.get("purpose") == PURPOSE
            and e.get(BILLING_MONTH) and e.get(CONTENT_STAMP)}


# outbox/<CBS code>/billing/<month>/ is delivered; <month>.partial is being written,
# <month>.old the statement a swap is replacing.
STAGED = ".partial"
_DELIVERED = "billing"
_REPLACED = ".old"


def recover_billing(outbox: Path, entries: list[dict]) -> tuple[int, int]:
    """Finish or undo billing deliveries a killed run left half-done: (completed, discarded).

    A staged statement whose manifest the log's `entries` record as delivered is swapped
    in; one they do not record was never delivered and is removed. A swap cut short is
    finished.
    """
    logged = {e["manifest_sha256"] for e in entries
              if e.get("event") == "delivery" and e.get("manifest_sha256")}
    completed = discarded = 0
    found = sorted(outbox.glob(f"*/{_DELIVERED}/*{STAGED}")) if outbox.exists() else []
    for staged in found:
        manifest = staged / "manifest.json"
        if manifest.exists() and hashlib.sha256(manifest.read_bytes()).hexdigest() in logged:
            _swap_in(staged)
            completed += 1
        else:
            shutil.rmtree(staged)
            discarded += 1
    for replaced in sorted(outbox.glob(f"*/{_DELIVERED}/*{_REPLACED}")) if outbox.exists() else []:
        shutil.rmtree(replaced)  # the new statement is in place (or staged and handled above)
    return completed, discarded


def _swap_in(staged: Path) -> None:
    month = staged.name.removesuffix(STAGED)
    delivered, replaced = staged.with_name(month), staged.with_name(month + _REPLACED)
    if replaced.exists():
        shutil.rmtree(replaced)
    if delivered.exists():
        delivered.rename(replaced)
    staged.rename(delivered)
    if replaced.exists():
        shutil.rmtree(replaced)
