"""The lineage report in brief, as JSON-ready data (`ketenbrug audit lineage --json`):
the files written and, per output, who received it - distinct persons and deliveries."""

from __future__ import annotations

from pathlib import Path

from ketenbrug.audit.provenance import ProvenanceReport


def lineage_summary(report: ProvenanceReport, html: Path, svg: Path) -> dict:
    """Return the paths written and each output's actual recipients. Names and counts
    only: the disclosure log's subject references never appear."""
    return {
        "html": str(html), "svg": str(svg), "level": report.level,
        "disclosure_log": report.disclosure_log, "generated_at": report.generated_at,
        "outputs": [{
            "name": out.name, "kind": out.kind, "purposes": list(out.purposes),
            "sources": [d.label for d in out.datasets], "delivers": list(out.delivers),
            "recipients": [{
                "recipient": r.recipient, "persons": r.persons, "deliveries": r.deliveries,
                "last_at": r.last_at,
                # Deliveries logged without subject references: their `persons` are
                # added, so a person among them may be counted more than once.
                "persons_without_references": r.unreferenced,
            } for r in out.actual_recipients],
        } for out in report.outputs],
    }
