"""Render a ProvenanceReport as one self-contained HTML page: inline CSS, the lineage
diagram as inline SVG, no script, no external asset, every text passed through
html.escape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

from ketenbrug.audit.lineage_svg import render_svg
from ketenbrug.audit.provenance import Output, ProvenanceReport
from ketenbrug.audit.recipients import ActualRecipient

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:80rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}
th,td{border:1px solid #c8c8c8;padding:.3rem .5rem;text-align:left;vertical-align:top;
font-size:.9rem}
th{background:#eef1f5}
tr:nth-child(even) td{background:#fafafa}
section{border-top:2px solid #2b4c7e;margin-top:2rem;padding-top:.5rem}
.note{background:#fff7e0;border-left:4px solid #e0a800;padding:.5rem 1rem}
.special{font-weight:bold;color:#8a1c1c}
code{font-size:.85rem}
.diagram{overflow-x:auto}
"""
_SPECIAL = {"criminal", "health", "identifying"}


def _join(values: Iterable[str]) -> str:
    return ", ".join(values) or "-"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], raw: int = -1) -> str:
    """Return an HTML table; every cell is escaped except column `raw` (pre-escaped)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell if i == raw else escape(str(cell))}</td>"
                         for i, cell in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _anchor(name: str) -> str:
    return "out-" + "".join(c if c.isalnum() else "-" for c in name)


def _summary(report: ProvenanceReport) -> str:
    rows = [(f'<a href="#{_anchor(o.name)}">{escape(o.name)}</a>', o.kind, _join(o.purposes),
             _join(d.label for d in o.datasets), _join(o.purpose_bases.values()),
             _join(o.recipient_kinds), _join(r.recipient for r in o.actual_recipients))
            for o in report.outputs]
    return _table(["output", "kind", "purposes", "source datasets", "legal basis (purpose)",
                   "entitled recipients", "actual recipients (disclosure log)"],
                  [(r[0], *r[1:]) for r in rows], raw=0)


def _section(out: Output) -> str:
    parts = [f'<section id="{_anchor(out.name)}"><h2>{escape(out.name)} '
             f"<small>({escape(out.kind)})</small></h2>"]
    parts.append(_table(["purpose", "legal basis (purposes register)"],
                        sorted(out.purpose_bases.items())))
    parts.append("<h3>Source datasets</h3>")
    parts.append(_table(
        ["dataset", "landing table", "controller", "regime", "legal basis (manifest)",
         "purposes", "contract id", "contract version", "register id", "retention"],
        [(d.label, d.table, d.controller, d.regime, d.legal_basis, _join(d.purposes),
          d.contract_id, d.contract_version, d.register_id, d.retention)
         for d in out.datasets]))
    parts.append("<h3>Source fields</h3>")
    field_rows = [(escape(f.dataset), escape(f.name),
                   f'<span class="special">{escape(f.classification)}</span>'
                   if f.classification in _SPECIAL else escape(f.classification),
                   escape(_join(f.purposes)), escape(_join(f.columns)))
                  for f in out.fields]
    head = "".join(f"<th>{h}</th>" for h in
                   ("dataset", "field", "classification", "permitted purposes",
                    "output columns derived from it"))
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
                   for row in field_rows)
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append("<h3>Recipients</h3>")
    parts.append(_table(["entitled kinds (purposes register)", "named in dbt exposures"],
                        [(_join(out.recipient_kinds), _join(out.exposure_recipients))]))
    if out.actual_recipients:
        parts.append(_table(
            ["recipient (disclosure log)", "distinct persons", "deliveries", "events",
             "last at"],
            [(r.recipient, _persons(r), str(r.deliveries), _join(r.events), r.last_at)
             for r in out.actual_recipients]))
    else:
        parts.append("<p>No disclosure of this purpose in the disclosure log.</p>")
    return "".join(parts) + "</section>"


def _persons(recipient: ActualRecipient) -> str:
    if not recipient.unreferenced:
        return str(recipient.persons)
    return (f"{recipient.persons} (of which {recipient.unreferenced} deliveries have no "
            "subject references: their person counts are added, a person may count twice)")


def render_html(report: ProvenanceReport) -> str:
    """Return the report as a complete HTML document (no external references)."""
    log = report.disclosure_log or "none given (actual recipients not shown)"
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>Ketenbrug lineage report</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>Ketenbrug lineage report</h1>"
        f"<p>Generated {escape(report.generated_at)}. Disclosure log: {escape(log)}.</p>"
        f'<p class="note">Lineage: {escape(report.level)}.</p>'
        "<h2>Summary</h2>" + _summary(report)
        + "<h2>Diagram</h2><p>Sources, datasets, marts and the recipients that received "
        "data (hover an edge for its legal basis and counts).</p>"
        f'<div class="diagram">{render_svg(report, standalone=False)}</div>'
        + "".join(_section(o) for o in report.outputs)
        + "</body></html>\n")


def write_html(report: ProvenanceReport, path: Path) -> Path:
    """Write the report to `path` (parents created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
