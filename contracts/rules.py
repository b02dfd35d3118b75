"""What an ODCS contract asks of a batch, as data: the rules, and the verdict's shape.

Free of Great Expectations on purpose: a batch with no new rows (an unchanged day) is
judged without importing GX at all (seconds per process), and the stewardship commands
read verdicts without it. contracts/gx_suite.py turns each rule into a GX expectation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ketenbrug.contracts.odcs import Contract

KEY_COLUMN = "_record_key"
AS_TIME = "__as_time"
MAX_KEYS_REPORTED = 20
_TYPE_PATTERNS = {
    "integer": r"^-?\d+$",
    "number": r"^-?\d+(?:\.\d+)?$",
    "timestamp": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$",
}


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


@dataclass(frozen=True)
class Rule:
    """One rule of a contract: its name, and the GX expectation (class name, arguments)
    that checks it."""

    name: str
    expectation: str  # e.g. "ExpectColumnValuesToNotBeNull"
    kwargs: dict[str, Any]


def contract_rules(contract: Contract, now: datetime | None = None) -> list[Rule]:
    """Every rule the contract states, in order.

    `now` bounds not-in-future rules (default: the moment of asking). Refuses
    (ValueError) a quality rule of a kind this hub cannot run, rather than skipping it.
    """
    now = now or datetime.now(UTC)
    rules: list[Rule] = []
    for prop in contract.properties:
        column, logical = prop["name"], prop.get("logicalType")
        if prop.get("required"):
            rules.append(Rule(f"{column}.required", "ExpectColumnValuesToNotBeNull",
                              {"column": column}))
        if prop.get("unique"):
            rules.append(Rule(f"{column}.unique", "ExpectColumnValuesToBeUnique",
                              {"column": column}))
        if logical in _TYPE_PATTERNS:
            rules.append(Rule(f"{column}.type_{logical}", "ExpectColumnValuesToMatchRegex",
                              {"column": column, "regex": _TYPE_PATTERNS[logical]}))
        elif logical == "date":
            rules.append(Rule(f"{column}.type_date", "ExpectColumnValuesToMatchStrftimeFormat",
                              {"column": column, "strftime_format": "%Y-%m-%d"}))
        elif logical == "array":
            rules.append(Rule(f"{column}.type_array", "ExpectColumnValuesToBeJsonParseable",
                              {"column": column}))
        options = prop.get("logicalTypeOptions") or {}
        if options.get("pattern"):
            rules.append(Rule(f"{column}.pattern", "ExpectColumnValuesToMatchRegex",
                              {"column": column, "regex": options["pattern"]}))
        if options.get("maxLength") is not None:
            rules.append(Rule(f"{column}.max_length", "ExpectColumnValueLengthsToBeBetween",
                              {"column": column, "max_value": options["maxLength"]}))
        if custom_property(prop, "notInFuture"):
            # Compared as instants: the text column is parsed into a shadow column first.
            rules.append(Rule(f"{column}.not_in_future", "ExpectColumnValuesToBeBetween",
                              {"column": column + AS_TIME, "max_value": now}))
        for quality in prop.get("quality", []):
            rules.append(_quality_rule(column, quality))
    return rules


def _quality_rule(column: str, quality: dict) -> Rule:
    if quality.get("metric") == "invalidValues":
        return Rule(quality.get("name", f"{column}.valid_values"), "ExpectColumnValuesToBeInSet",
                    {"column": column, "value_set": quality["arguments"]["validValues"]})
    if quality.get("type") == "custom" and quality.get("engine") == "great-expectations":
        spec = quality["implementation"]
        return Rule(quality.get("name", f"{column}.{spec['expectation']}"),
                    _camel(spec["expectation"]), {"column": column, **spec.get("kwargs", {})})
    raise ValueError(f"quality rule on {column} is of a kind this hub cannot run: {quality}")


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def custom_property(prop: dict, name: str):
    return next((c["value"] for c in prop.get("customProperties", [])
                 if c["property"] == name), None)
