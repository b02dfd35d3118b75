"""Compile an ODCS contract to a Great Expectations suite and run it on a landed batch.

GX's SQL datasource fails on DuckDB (../shared/STACK.md), so a batch is read from the
warehouse into pandas and validated there. Failures are reported by rule, count and
record keys; values are never copied into a report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import great_expectations as gx
import pandas as pd
from great_expectations import expectations as gxe
from great_expectations.data_context.types.base import ProgressBarsConfig

from contracts.odcs import Contract

KEY_COLUMN = "_record_key"
MAX_KEYS_REPORTED = 20
_TYPE_PATTERNS = {
    "integer": r"^-?\d+$",
    "number": r"^-?\d+(?:\.\d+)?$",
    "timestamp": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$",
}

logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass(frozen=True)
class RuleFailure:
    rule: str
    column: str
    failing_count: int
    record_keys: tuple[str, ...]

    def describe(self) -> str:
        keys = ", ".join(self.record_keys) or "(no keys)"
        return f"rule {self.rule} on {self.column}: {self.failing_count} record(s), keys {keys}"


@dataclass(frozen=True)
class ContractResult:
    contract_id: str
    contract_version: str
    rows: int
    rules: int
    failures: list[RuleFailure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failing_keys(self) -> set[str]:
        return {k for f in self.failures for k in f.record_keys}


def compile_suite(contract: Contract) -> list[tuple[str, gxe.Expectation]]:
    """Return (rule name, expectation) pairs for every rule the contract states."""
    rules: list[tuple[str, gxe.Expectation]] = []
    for prop in contract.properties:
        column, logical = prop["name"], prop.get("logicalType")
        if prop.get("required"):
            rules.append((f"{column}.required", gxe.ExpectColumnValuesToNotBeNull(column=column)))
        if prop.get("unique"):
            rules.append((f"{column}.unique", gxe.ExpectColumnValuesToBeUnique(column=column)))
        if logical in _TYPE_PATTERNS:
            rules.append((f"{column}.type_{logical}", gxe.ExpectColumnValuesToMatchRegex(
                column=column, regex=_TYPE_PATTERNS[logical])))
        elif logical == "date":
            rules.append((f"{column}.type_date", gxe.ExpectColumnValuesToMatchStrftimeFormat(
                column=column, strftime_format="%Y-%m-%d")))
        elif logical == "array":
            rules.append((f"{column}.type_array", gxe.ExpectColumnValuesToBeJsonParseable(
                column=column)))
        pattern = (prop.get("logicalTypeOptions") or {}).get("pattern")
        if pattern:
            rules.append((f"{column}.pattern", gxe.ExpectColumnValuesToMatchRegex(
                column=column, regex=pattern)))
        for quality in prop.get("quality", []):
            if quality.get("metric") == "invalidValues":
                rules.append((quality.get("name", f"{column}.valid_values"),
                              gxe.ExpectColumnValuesToBeInSet(
                                  column=column, value_set=quality["arguments"]["validValues"])))
    return rules


def validate_batch(contract: Contract, frame: pd.DataFrame) -> ContractResult:
    """Run the contract's suite on `frame` (one landed batch) and return what failed."""
    rules = compile_suite(contract)
    contract_id = contract.document["id"]
    if frame.empty:
        return ContractResult(contract_id, contract.version, rows=0, rules=len(rules))
    missing = [prop["name"] for prop in contract.properties if prop["name"] not in frame.columns]
    if missing:
        failures = [RuleFailure(f"{name}.present", name, len(frame), ()) for name in missing]
        return ContractResult(contract_id, contract.version, len(frame), len(rules), failures)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (context.data_sources.add_pandas("landing")
             .add_dataframe_asset(contract_id)
             .add_batch_definition_whole_dataframe("batch")
             .get_batch(batch_parameters={"dataframe": frame}))
    suite = gx.ExpectationSuite(name=contract_id)
    names = {}
    for name, expectation in rules:
        added = suite.add_expectation(expectation)
        names[id(added)] = name
    outcome = batch.validate(suite, result_format={
        "result_format": "COMPLETE", "unexpected_index_column_names": [KEY_COLUMN],
        "return_unexpected_index_query": False,
    })
    failures = []
    for (name, _), result in zip(rules, outcome.results, strict=True):
        if result.success:
            continue
        details = result.result or {}
        keys = sorted({str(i.get(KEY_COLUMN)) for i in details.get("unexpected_index_list") or []
                       if isinstance(i, dict)})
        failures.append(RuleFailure(
            rule=name, column=result.expectation_config.kwargs.get("column", "?"),
            failing_count=int(details.get("unexpected_count") or 0),
            record_keys=tuple(keys[:MAX_KEYS_REPORTED]),
        ))
    return ContractResult(contract_id, contract.version, len(frame), len(rules), failures)
