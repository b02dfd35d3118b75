"""The published interfaces of the four non-FHIR sources: hand-written OpenAPI 3.1 documents,
the contract a real vendor implements for Ketenbrug (API.md, machine-readable). Each
simulated system serves its own at `GET /openapi.json`, without credentials.

Package data (a package, so pyproject's `*.yaml` takes the files into the wheel), read
through importlib.resources, never by walking up from a checkout.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

import yaml

# Care speaks FHIR R4, whose specification is its contract: it has no document here.
SOURCES = ("probation", "dji", "wijkteam", "municipal_orders")
SERVED_AT = "/openapi.json"


def document_text(source: str) -> str:
    """The document of `source` as written (YAML); refuses (ValueError) another name."""
    if source not in SOURCES:
        raise ValueError(f"no OpenAPI document for source {source!r}")
    return (resources.files(__name__) / f"{source}.yaml").read_text(encoding="utf-8")


def document(source: str) -> dict[str, Any]:
    """The document of `source`, parsed: a fresh copy the caller may change."""
    return copy.deepcopy(_parsed(source))


@cache
def _parsed(source: str) -> dict[str, Any]:
    parsed = yaml.safe_load(document_text(source))
    if not isinstance(parsed, dict):
        raise ValueError(f"{source}.yaml is not an OpenAPI document")
    return parsed
