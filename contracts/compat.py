"""Which changes between two versions of a contract break its consumers.

Breaking: a field removed or retyped, a rule tightened (newly required or unique, an
allowed-values set that lost values, a new or changed pattern), or a change of
purpose, legal basis or classification — a consumer entitled under the old terms may
not be under the new. Not breaking: an optional field added, a rule loosened.
"""

from __future__ import annotations

from dataclasses import dataclass

TERMS = ("purposes", "legalBasis", "retention")


@dataclass(frozen=True)
class Change:
    field: str  # a property name, or "(contract)" for contract-level terms
    kind: str
    detail: str
    breaking: bool

    def describe(self) -> str:
        flag = "BREAKING" if self.breaking else "compatible"
        return f"{flag:<10} {self.field}: {self.kind} ({self.detail})"


def compare(old: dict, new: dict) -> list[Change]:
    """Every difference between contract documents `old` and `new` that consumers notice."""
    changes = [*_compare_terms(old, new)]
    old_props, new_props = _properties(old), _properties(new)
    for name in old_props.keys() - new_props.keys():
        changes.append(Change(name, "removed", "consumers reading it fail", True))
    for name in new_props.keys() - old_props.keys():
        required = bool(new_props[name].get("required"))
        changes.append(Change(name, "added", "required" if required else "optional", required))
    for name in sorted(old_props.keys() & new_props.keys()):
        changes += _compare_property(name, old_props[name], new_props[name])
    return sorted(changes, key=lambda c: (not c.breaking, c.field, c.kind))


def breaking(old: dict, new: dict) -> list[Change]:
    """Only the breaking changes."""
    return [c for c in compare(old, new) if c.breaking]


def _compare_terms(old: dict, new: dict) -> list[Change]:
    changes = []
    for term in TERMS:
        before, after = _custom(old, term), _custom(new, term)
        if before != after:
            changes.append(Change("(contract)", f"{term} changed", f"{before} -> {after}", True))
    return changes


def _compare_property(name: str, old: dict, new: dict) -> list[Change]:
    changes = []
    if old.get("logicalType") != new.get("logicalType"):
        changes.append(Change(name, "retyped",
                              f"{old.get('logicalType')} -> {new.get('logicalType')}", True))
    for flag in ("required", "unique"):
        if bool(old.get(flag)) != bool(new.get(flag)):
            tightened = bool(new.get(flag))
            changes.append(Change(name, f"{flag} {'added' if tightened else 'dropped'}",
                                  "tightened" if tightened else "loosened", tightened))
    old_pattern = (old.get("logicalTypeOptions") or {}).get("pattern")
    new_pattern = (new.get("logicalTypeOptions") or {}).get("pattern")
    if old_pattern != new_pattern:
        changes.append(Change(name, "pattern changed", f"{old_pattern} -> {new_pattern}",
                              new_pattern is not None))
    old_valid, new_valid = _valid_values(old), _valid_values(new)
    if old_valid != new_valid:
        lost = (old_valid or set()) - (new_valid or set()) if new_valid is not None else set()
        newly_limited = old_valid is None and new_valid is not None
        changes.append(Change(name, "allowed values changed",
                              f"lost {sorted(lost, key=str)}" if lost else "widened or new",
                              bool(lost) or newly_limited))
    if old.get("classification") != new.get("classification"):
        changes.append(Change(name, "classification changed",
                              f"{old.get('classification')} -> {new.get('classification')}", True))
    old_purposes, new_purposes = _prop_purposes(old), _prop_purposes(new)
    if old_purposes != new_purposes:
        changes.append(Change(name, "purposes changed", f"{old_purposes} -> {new_purposes}", True))
    return changes


def _properties(document: dict) -> dict[str, dict]:
    return {p["name"]: p for p in document["schema"][0]["properties"]}


def _custom(item: dict, name: str):
    return next((c["value"] for c in item.get("customProperties", []) if c["property"] == name),
                None)


def _prop_purposes(prop: dict):
    value = _custom(prop, "purposes")
    return sorted(value) if value else None


def _valid_values(prop: dict) -> set | None:
    for quality in prop.get("quality", []):
        if quality.get("metric") == "invalidValues":
            return set(quality["arguments"]["validValues"])
    return None
