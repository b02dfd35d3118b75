"""Compile an ODCS contract to a Great Expectations suite and run it on a landed batch.

GX's SQL datasource fails on DuckDB (../shared/STACK.md), so a batch is read from the
warehouse into pandas and validated there. Failures are reported by rule, count and
record keys; values are never copied into a report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import great_expectations as gx
import pandas as pd
from great_expectations import expectations as gxe
from great_expectations.data_context.types.base import ProgressBarsConfig

from ketenbrug.contracts.odcs import Contract

KEY_COLUMN = "_record_key"
AS_TIME = "__as_time"
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


def compile_suite(contract: Contract,
                  now: datetime | None = None) -> list[tuple[str, gxe.Expectation]]:
    """Return (rule name, expectation) pairs for every rule the contract states.

    `now` bounds not-in-future rules (default: the moment of compiling). Refuses
    (ValueError) a quality rule of a kind it cannot run, rather than skipping it.
    """
    now = now or datetime.now(UTC)
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
        options = prop.get("logicalTypeOptions") or {}
        if options.get("pattern"):
            rules.append((f"{column}.pattern", gxe.ExpectColumnValuesToMatchRegex(
                column=column, regex=options["pattern"])))
        if options.get("maxLength") is not None:
            rules.append((f"{column}.max_length", gxe.ExpectColumnValueLengthsToBeBetween(
                column=column, max_value=options["maxLength"])))
        if _custom(prop, "notInFuture"):
            # Compared as instants: the text column is parsed into a shadow column first.
            rules.append((f"{column}.not_in_future", gxe.ExpectColumnValuesToBeBetween(
                column=column + AS_TIME, max_value=now)))
        for quality in prop.get("quality", []):
            rules += _quality_rule(column, quality)
    return rules


def rule_raised(info: dict | None) -> bool:
    """Whether GX could not run a rule; its error info is flat, or keyed by metric."""
    if not isinstance(info, dict):
        return False
    return bool(info.get("raised_exception")) or any(
        isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def _quality_rule(column: str, quality: dict) -> list[tuple[str, gxe.Expectation]]:
    if quality.get("metric") == "invalidValues":
        return [(quality.get("name", f"{column}.valid_values"), gxe.ExpectColumnValuesToBeInSet(
            column=column, value_set=quality["arguments"]["validValues"]))]
    if quality.get("type") == "custom" and quality.get("engine") == "great-expectations":
        spec = quality["implementation"]
        expectation = getattr(gxe, _camel(spec["expectation"]))
        return [(quality.get("name", f"{column}.{spec['expectation']}"),
                 expectation(column=column, **spec.get("kwargs", {})))]
    raise ValueError(f"quality rule on {column} is of a kind this hub cannot run: {quality}")


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def _custom(prop: dict, name: str):
    return next((c["value"] for c in prop.get("customProperties", [])
                 if c["property"] == name), None)


def _with_time_columns(contract: Contract, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` plus a parsed shadow of every not-in-future column (unparseable: empty)."""
    shadows = {prop["name"] + AS_TIME: pd.to_datetime(
        frame[prop["name"]], errors="coerce", utc=True, format="ISO8601")
        for prop in contract.properties
        if _custom(prop, "notInFuture") and prop["name"] in frame.columns}
    return frame.assign(**shadows) if shadows else frame


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
    frame = _with_time_columns(contract, frame)
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
        config = result.expectation_config
        assert config is not None  # GX gives each result of a suite its expectation
        column = config.kwargs.get("column", "?").removesuffix(AS_TIME)
        raised = rule_raised(result.exception_info)
        failures.append(RuleFailure(
            rule=name if not raised else f"{name} (could not run)", column=column,
            failing_count=len(frame) if raised else int(details.get("unexpected_count") or 0),
            record_keys=tuple(keys[:MAX_KEYS_REPORTED]),
        ))
    return ContractResult(contract_id, contract.version, len(frame), len(rules), failures)
