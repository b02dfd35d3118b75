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

from importlib import import_module

# Each name from the module that has it, imported on first use: a run's checks need only
# the funding separation and the column purposes, not the OpenLineage client (~0.1 s).
_EXPORTS = {
    "ColumnPurposeReport": "column_purpose", "check_purpose_lineage": "column_purpose",
    "FundingSeparationReport": "funding_separation", "check_lineage": "funding_separation",
    "load_dbt_manifest": "graph",
    "build_events": "openlineage.export", "read_materialisations": "openlineage.export",
    "write_events": "openlineage.export",
    "ProvenanceReport": "provenance", "build_lineage": "provenance",
    "render_html": "provenance_html", "write_html": "provenance_html",
    "build_register": "register", "register_json": "register",
    "register_markdown": "register",
    "subject_report": "subject_access",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
