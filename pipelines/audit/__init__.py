"""The privacy officer's reports, built from the hub's own records (issue 7).

- `build_lineage` / `write_html`: per output, source datasets and fields, legal bases,
  purposes, contract versions and recipients, as one self-contained HTML page;
- `build_register` / `register_markdown` / `register_json`: the GDPR art. 30(1) record;
- `read_materialisations` / `build_events` / `write_events`: OpenLineage run events for
  every materialisation in the Dagster instance, with the `ketenbrug_purpose` facet.

Imports of Dagster and dbt happen only where the asset graph or the instance is read.
"""

from pipelines.audit.graph import asset_parents, load_dbt_manifest
from pipelines.audit.lineage_html import render_html, write_html
from pipelines.audit.lineage_report import LineageReport, build_lineage
from pipelines.audit.openlineage_export import build_events, read_materialisations, write_events
from pipelines.audit.register import build_register, register_json, register_markdown

__all__ = [
    "LineageReport", "asset_parents", "build_events", "build_lineage", "build_register",
    "load_dbt_manifest", "read_materialisations", "register_json", "register_markdown",
    "render_html", "write_events", "write_html",
]
