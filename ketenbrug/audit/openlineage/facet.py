"""The hub's custom OpenLineage facet `ketenbrug_purpose`: why a dataset was processed
(purposes), on which legal basis, for which recipients - as a run facet on every event and
as a dataset facet on the dataset a run produced.

Its JSON schema is `ketenbrug_purpose_facet.json` beside this module; `_schemaURL` names
it, as the OpenLineage spec asks of custom facets.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import attr
from openlineage.client.generated.base import DatasetFacet, RunFacet

FACET_NAME = "ketenbrug_purpose"
PRODUCER = "https://ketenbrug.example/ketenbrug/pipelines/audit"
SCHEMA_FILE = Path(__file__).resolve().parent / "ketenbrug_purpose_facet.json"
SCHEMA_BASE = "https://ketenbrug.example/spec/facets/1-0-0/KetenbrugPurposeFacet.json"
RUN_FACET_URL = f"{SCHEMA_BASE}#/$defs/KetenbrugPurposeRunFacet"
DATASET_FACET_URL = f"{SCHEMA_BASE}#/$defs/KetenbrugPurposeDatasetFacet"


@attr.define
class KetenbrugPurposeRunFacet(RunFacet):
    """Purposes, legal bases and recipients of what the run produced."""

    purpose: list[str] = attr.field(factory=list)
    legalBasis: list[str] = attr.field(factory=list)  # noqa: N815 (the spec's camelCase)
    recipients: list[str] = attr.field(factory=list)  # kinds entitled (purposes register)
    actualRecipients: list[str] = attr.field(factory=list)  # noqa: N815 (disclosure log)

    @staticmethod
    def _get_schema() -> str:
        return RUN_FACET_URL


@attr.define
class KetenbrugPurposeDatasetFacet(DatasetFacet):
    """Purposes, legal bases and entitled recipients of a dataset."""

    purpose: list[str] = attr.field(factory=list)
    legalBasis: list[str] = attr.field(factory=list)  # noqa: N815
    recipients: list[str] = attr.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return DATASET_FACET_URL


@cache
def facet_schema() -> dict:
    """Return the facet's JSON schema (draft 2020-12, `$defs` for the run and dataset facet)."""
    return json.loads(SCHEMA_FILE.read_text())
