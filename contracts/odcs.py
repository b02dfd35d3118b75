"""Load Open Data Contract Standard v3 contracts and validate them against the ODCS schema."""

from __future__ import annotations

import json
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
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(odcs_schema()).iter_errors(document))
    if error is not None:
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise ContractError(f"{where}: not a valid ODCS v3 contract at {path}: {error.message}")


@cache
def load_contract(source: str, dataset: str) -> Contract:
    """Return the validated contract of `source`.`dataset`."""
    path = CONTRACTS_DIR / source / f"{dataset}.odcs.yaml"
    if not path.exists():
        raise ContractError(f"no contract for {source}.{dataset} (expected {path.name})")
    document = yaml_files.safe_load(path.read_text())
    validate_document(document, str(path.relative_to(CONTRACTS_DIR.parent)))
    return Contract(source=source, dataset=dataset, version=document["version"], document=document)
