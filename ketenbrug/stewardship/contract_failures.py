"""Contract failures by rule, across every batch the ledger has judged.

From the ledger alone: each quarantined (or once quarantined) batch's verdict names the
rules it failed, with record counts (gx_suite.RuleFailure.describe); records refused on
arrival are in the rejections table with their reason. Rules, columns, counts and batch
ids only - never a record's contents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ketenbrug.databases import Target
from ketenbrug.warehouse import connect, table_exists
from ketenbrug.warehouse.schema import BATCHES, REJECTIONS

_FAILURE = re.compile(r"rule (?P<rule>\S+) on (?P<column>\S+): (?P<records>\d+) record\(s\)")


@dataclass
class RuleFailures:
    dataset: str  # source.dataset
    rule: str
    column: str
    batches: int = 0
    records: int = 0
    open_batches: list[str] = field(default_factory=list)  # still quarantined
    last_batch: str = ""
    last_at: str = ""


@dataclass(frozen=True)
class Rejections:
    dataset: str
    reason: str
    records: int
    batches: int


def contract_failures(warehouse: Target | str) -> tuple[list[RuleFailures], list[Rejections]]:
    """Failed rules (most records first) and rejections on arrival, per dataset."""
    with connect(warehouse, read_only=True) as con:
        if not table_exists(con, BATCHES):  # nothing has landed yet
            return [], []
        judged = con.execute(
            f"select batch_id, source || '.' || dataset, cast(received_at as varchar), "
            f"status, verdict from {BATCHES} where verdict like '%rule % on %' "
            "order by received_at").fetchall()
        rejected = con.execute(
            f"select b.source || '.' || b.dataset, r.reason, count(*), "
            f"count(distinct r.batch_id) from {REJECTIONS} r join {BATCHES} b "
            "on b.batch_id = r.batch_id group by 1, 2 order by 3 desc, 1, 2").fetchall()
    found: dict[tuple[str, str, str], RuleFailures] = {}
    for batch_id, dataset, at, status, verdict in judged:
        for failure in _FAILURE.finditer(verdict):
            key = (dataset, failure["rule"], failure["column"])
            rule = found.setdefault(key, RuleFailures(*key))
            rule.batches += 1
            rule.records += int(failure["records"])
            rule.last_batch, rule.last_at = batch_id, at
            if status == "quarantined":
                rule.open_batches.append(batch_id)
    return (sorted(found.values(), key=lambda r: (-r.records, r.dataset, r.rule)),
            [Rejections(*row) for row in rejected])

