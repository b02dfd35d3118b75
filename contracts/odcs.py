"""Load Open Data Contract Standard v3 contracts and validate them against the ODCS schema."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema

from ketenbrug import yaml_files

CONTRACTS_DIR = Path(__file__).resolve().parent


class ContractError(Exception):
    """A contract is missing or does not conform to the ODCS v3 schema."""


@dataclass(frozen=True)
class Contract:
    source: str
    dataset: str
    version: str
    document: dict

    @property
    def table(self) -> dict:
        return self.document["schema"][0]

    @property
    def properties(self) -> list[dict]:
        return self.table["properties"]

    def custom(self, name: str):
        """Return the contract-level custom property `name` (e.g. legalBasis), or None."""
        return next((c["value"] for c in self.document.get("customProperties", [])
                     if c["property"] == name), None)


@cache
def odcs_schema() -> dict:
    """The ODCS JSON schema shipped by the open-data-contract-standard package."""
    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text()
    return json.loads(text)


def validate_document(document: dict, where: str) -> None:
    """Raise ContractError naming `where` and the offending path when `document` is not ODCS."""
    digest = _validation_digest(document)
    if digest in _found_valid():
        return
    _validate(document, where)
    _remember_valid(digest)


def _validate(document: dict, where: str) -> None:
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(odcs_schema()).iter_errors(document))
    if error is not None:
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise ContractError(f"{where}: not a valid ODCS v3 contract at {path}: {error.message}")


# Validating the seven contracts against ODCS's schema is ~0.2 s (its unevaluatedProperties
# are slow in jsonschema), paid by every process that loads the definitions: each run, the
# UI, each step process. A document found valid is kept here by digest: of the document,
# the schema, jsonschema's version and the validating code, so any change validates anew.
# Only valid documents are kept; a damaged or unwritable file just means validating again.
VALIDATED = CONTRACTS_DIR / ".validated.json"
VALIDATED_KEPT = 100


def _validation_digest(document: dict) -> str:
    return hashlib.sha256(json.dumps([_salt(), document], sort_keys=True, default=str)
                          .encode()).hexdigest()


@cache
def _salt() -> str:
    return json.dumps([jsonschema.__version__, inspect.getsource(_validate), odcs_schema()],
                      sort_keys=True)


def _found_valid() -> list[str]:
    try:
        kept = json.loads(VALIDATED.read_text())
    except (OSError, ValueError):
        return []
    return kept if isinstance(kept, list) else []


def _remember_valid(digest: str) -> None:
    kept = [d for d in _found_valid() if d != digest][-(VALIDATED_KEPT - 1):] + [digest]
    partial = VALIDATED.with_name(f"{VALIDATED.name}.{os.getpid()}.partial")
    try:  # whole or not at all: two processes at once each write a file of their own
        partial.write_text(json.dumps(kept))
        os.replace(partial, VALIDATED)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()


@cache
def load_contract(source: str, dataset: str) -> Contract:
    """Return the validated contract of `source`.`dataset`."""
    path = CONTRACTS_DIR / source / f"{dataset}.odcs.yaml"
    if not path.exists():
        raise ContractError(f"no contract for {source}.{dataset} (expected {path.name})")
    document = yaml_files.safe_load(path.read_text())
    validate_document(document, str(path.relative_to(CONTRACTS_DIR.parent)))
    return Contract(source=source, dataset=dataset, version=document["version"], document=document)
