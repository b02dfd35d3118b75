"""Compile an ODCS contract to a Great Expectations suite and run it on a landed batch.

GX's SQL datasource fails on DuckDB (../shared/STACK.md), so a batch is read from the
warehouse into pandas and validated there. Failures are reported by rule, count and
record keys; values are never copied into a report.
"""

from __future__ import annotations

import logging
from datetime import datetime

import great_expectations as gx
import pandas as pd
from great_expectations import expectations as gxe
from great_expectations.data_context.types.base import ProgressBarsConfig

from ketenbrug.contracts.odcs import Contract
from ketenbrug.contracts.rules import (  # noqa: F401 - re-exported: gx_sql and tests use them
    AS_TIME,
    KEY_COLUMN,
    MAX_KEYS_REPORTED,
    ContractResult,
    RuleFailure,
    contract_rules,
    custom_property,
)

logging.getLogger("great_expectations").setLevel(logging.WARNING)


def compile_suite(contract: Contract,
                  now: datetime | None = None) -> list[tuple[str, gxe.Expectation]]:
    """Return (rule name, expectation) pairs for every rule the contract states
    (contracts/rules.py). Refuses (ValueError) a rule whose expectation GX does not have."""
    compiled = []
    for rule in contract_rules(contract, now):
        expectation = getattr(gxe, rule.expectation, None)
        if expectation is None:
            raise ValueError(f"rule {rule.name}: Great Expectations has no {rule.expectation}")
        compiled.append((rule.name, expectation(**rule.kwargs)))
    return compiled


def rule_raised(info: dict | None) -> bool:
    """Whether GX could not run a rule; its error info is flat, or keyed by metric."""
    if not isinstance(info, dict):
        return False
    return bool(info.get("raised_exception")) or any(
        isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def _with_time_columns(contract: Contract, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` plus a parsed shadow of every not-in-future column (unparseable: empty)."""
    shadows = {prop["name"] + AS_TIME: pd.to_datetime(
        frame[prop["name"]], errors="coerce", utc=True, format="ISO8601")
        for prop in contract.properties
        if custom_property(prop, "notInFuture") and prop["name"] in frame.columns}
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
