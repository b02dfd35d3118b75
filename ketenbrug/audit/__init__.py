"""The privacy officer's questions, answered from the hub's own records.

Three kinds of lineage, each named for the question it answers:
- provenance (`build_lineage`, `write_html`): per output, its source datasets and fields,
  legal bases, purposes, contract versions and recipients;
- funding separation (`check_lineage`): the billable lineage and the statutory one meet
  only over the crossings declared in contracts/lineages.yaml;
- column purpose (`check_purpose_lineage`): every mart column derives only from fields
  permitted for its purpose.
Also the GDPR art. 30 register, subject access (art. 15) and the OpenLineage export.
Imports of Dagster happen only where the instance is read.
"""

from ketenbrug.audit.column_purpose import ColumnPurposeReport, check_purpose_lineage
from ketenbrug.audit.funding_separation import FundingSeparationReport, check_lineage
from ketenbrug.audit.graph import load_dbt_manifest
from ketenbrug.audit.openlineage.export import build_events, read_materialisations, write_events
from ketenbrug.audit.provenance import ProvenanceReport, build_lineage
from ketenbrug.audit.provenance_html import render_html, write_html
from ketenbrug.audit.register import build_register, register_json, register_markdown
from ketenbrug.audit.subject_access import subject_report

__all__ = [
    "ColumnPurposeReport", "FundingSeparationReport", "ProvenanceReport", "build_events",
    "build_lineage", "build_register", "check_lineage", "check_purpose_lineage",
    "load_dbt_manifest", "read_materialisations", "register_json", "register_markdown",
    "render_html", "subject_report", "write_events", "write_html",
]
