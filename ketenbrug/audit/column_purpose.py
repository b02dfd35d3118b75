"""Purpose-bound column lineage: a mart column may derive only from source fields whose
connector manifest and ODCS contract permit the mart's purpose.

Each model's compiled SQL (the dbt manifest after `dbt compile` or `dbt build`) is traced
with sqlglot, model by model in dependency order, to the columns of the relations it
reads, and followed down to dbt sources and seeds. "Derives from" is what sqlglot's
lineage follows: every column in the expression of a selected column, through CTEs,
subqueries, window partitions and orderings; a column used only to filter or join is not
a derivation.

How the leaves count:
- a connector field of a landing table `landing.<slug>__<dataset>`: the purposes its
  connector manifest gives it (per field, defaulting to the dataset's), intersected with
  its ODCS property's `purposes` custom property where the contract states one, since
  both documents must permit a use;
- the columns the hub itself adds on landing (ketenbrug/warehouse/schema.py: `_record_key`,
  `_batch_id`, `_received_at`, `_payload_hash`, `_source`, `_dataset`, and the boundary's
  `person_pseudonym`, `pseudonym_basis`, `is_bsn_present`, `is_bsn_valid`): operational
  linkage, permitted for every purpose of their dataset and no other;
- any other landing column: permitted for no purpose (the connector never takes it);
- seeds (reference facts), the batch ledger `landing._batches` and
  `privacy.domain_pseudonyms` (pseudonyms re-keyed per recipient, no source values):
  neutral, permitted for every purpose in contracts/purposes.yaml;
- any other source: it has no policy, which is reported.
A declared aggregate-only crossing (contracts/lineages.yaml, checked by
ketenbrug/audit/funding_separation.py to carry aggregates only) is where tracing stops: its source
model's columns are leaves permitted for the target's purpose, listed in
`ColumnPurposeReport.crossed` so that the acceptance stays visible.
Classification follows the special categories: a mart column derived from a field its
manifest classifies `health` (GDPR art. 9) is classified `health`, one derived from a
`criminal` field (art. 10) `criminal` or `health`; a suppressed `aggregate` is exempt.
Whatever sqlglot cannot trace (unparseable SQL, an unknown relation, a star it cannot
expand, a column it cannot place, a model without compiled SQL) is reported as well: the
guard never passes what it could not see. Imports no Dagster, so the test and the
run-time check share it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from sqlglot import exp
from sqlglot.lineage import lineage

from ketenbrug.audit.trace_cache import TraceCache
from ketenbrug.connectors.manifest import all_datasets
from ketenbrug.contracts.odcs import load_contract
from ketenbrug.contracts.registers import load_lineages, load_purposes
from ketenbrug.warehouse.schema import (
    BATCHES,
    DOMAIN_PSEUDONYMS,
    IDENTITY_COLUMNS,
    META_COLUMNS,
    landing_columns,
)

LINKAGE_COLUMNS = frozenset(META_COLUMNS + IDENTITY_COLUMNS)
NEUTRAL_SOURCES = frozenset({BATCHES, DOMAIN_PSEUDONYMS})
MART_FOLDER = "marts"
# Field classification -> mart column classifications that keep it visible.
SPECIAL_CATEGORIES = {"health": frozenset({"health", "aggregate"}),
                      "criminal": frozenset({"criminal", "health", "aggregate"})}

Ref = tuple[str, str]  # (unique_id of a dbt node, column)


@dataclass(frozen=True, order=True)
class SourceField:
    relation: str  # source "<source>.<table>" (landing.dji__detentions); else "<schema>.<name>"
    column: str

    def __str__(self) -> str:
        return f"{self.relation}.{self.column}"


@dataclass(frozen=True)
class Violation:
    mart: str
    column: str
    purpose: str
    source_field: SourceField
    permitted: tuple[str, ...]

    def describe(self) -> str:
        allowed = ", ".join(self.permitted) or "no purpose (not in its connector manifest)"
        return (f"{self.mart}.{self.column} (purpose {self.purpose}) derives from "
                f"{self.source_field}, permitted for {allowed}")


@dataclass
class ColumnPurposeReport:
    """What the guard found. `ok` is False on any violation or anything left unresolved."""

    columns: dict[tuple[str, str], frozenset[SourceField]] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    misclassified: list[str] = field(default_factory=list)
    crossed: list[str] = field(default_factory=list)
    marts: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.violations or self.unresolved or self.misclassified)

    def problems(self, mart: str | None = None) -> list[str]:
        """Return one readable line per problem (empty when ok). Given a mart: its own,
        and those of models that are not marts, since any mart may read them."""
        def concerns(line: str) -> bool:
            owner = line.split(".", 1)[0].split(":", 1)[0]
            return mart is None or owner == mart or owner not in self.marts

        lines = [v.describe() for v in self.violations if mart in (None, v.mart)]
        lines += [f"misclassified: {m}" for m in self.misclassified
                  if mart is None or m.startswith(f"{mart}.")]
        return lines + [f"unresolved: {u}" for u in self.unresolved if concerns(u)]


def _contract_purposes(source: str, dataset: str) -> dict[str, frozenset[str]]:
    contract = load_contract(source, dataset)
    stated = {}
    for prop in contract.properties:
        for custom in prop.get("customProperties") or []:
            if custom.get("property") == "purposes":
                stated[prop["name"]] = frozenset(custom["value"])
    return stated


@cache
def landing_policy() -> dict[str, dict[str, frozenset[str]]]:
    """Return `landing.<table>` -> landed column -> the purposes it may serve.

    Connector fields get manifest purposes intersected with the contract's; the hub's
    linkage columns get the dataset's purposes (see the module docstring).
    """
    policy = {}
    for dataset in all_datasets():
        stated = _contract_purposes(dataset.source, dataset.name)
        columns = {c: frozenset(dataset.purposes) for c in landing_columns(dataset)
                   if c in LINKAGE_COLUMNS}
        for spec in dataset.fields:
            columns[spec.name] = frozenset(spec.purposes) & stated.get(spec.name,
                                                                      frozenset(spec.purposes))
        policy[f"landing.{dataset.table}"] = columns
    return policy


@cache
def landing_classifications() -> dict[tuple[str, str], str]:
    """Return (`landing.<table>`, field) -> the classification its manifest gives it
    (tests/unit/test_contracts.py holds the ODCS contracts to the same)."""
    return {(f"landing.{d.table}", spec.name): spec.classification
            for d in all_datasets() for spec in d.fields}


def _relation(node: Mapping[str, Any]) -> str:
    # Where the compiled SQL finds the node: "<schema>.<table>".
    name = node.get("identifier") if node["resource_type"] == "source" else node.get("alias")
    return f"{node['schema']}.{name or node['name']}".lower()


def _field_relation(node: Mapping[str, Any]) -> str:
    # What the policy calls the node: a source by its dbt name ("landing.dji__detentions"),
    # whichever schema a run points it at; a model or seed by where it is built.
    if node["resource_type"] == "source":
        return f"{node['source_name']}.{node['name']}".lower()
    return _relation(node)


def _leaf_columns(node: Mapping[str, Any]) -> list[str]:
    # What a source or seed holds: the columns its YAML declares, a landing table's
    # columns as the connector manifest lands them, a seed's CSV header.
    columns = list(node.get("columns") or {})
    columns += list(landing_policy().get(_field_relation(node), {}))
    if node["resource_type"] == "seed":
        path = Path(node["root_path"]) / node["original_file_path"]
        with path.open(newline="") as handle:
            columns += next(csv.reader(handle), [])
    return list(dict.fromkeys(c.lower() for c in columns))


@lru_cache(maxsize=512)
def _trace_sql(code: str, schema_json: str, dialect: str) -> tuple[dict[str, frozenset], tuple]:
    # One model: output column -> {(catalog, schema, table, column)} it derives from, and
    # the references sqlglot could not place. Cached on the SQL and the schema it saw.
    nodes = lineage(None, code, schema=json.loads(schema_json), dialect=dialect,
                    validate_qualify_columns=True)
    traced, loose = {}, []
    for name, root in nodes.items():
        leaves, stack = set(), [root]
        while stack:
            current = stack.pop()
            if current.downstream:
                stack.extend(current.downstream)
            elif current.name.endswith("*"):  # a star sqlglot could not expand
                loose.append(f"{name}: reads {current.name} with unknown columns")
            elif isinstance(current.expression, exp.Table):
                table = current.expression
                leaves.add((table.catalog.lower(), table.db.lower(), table.name.lower(),
                            current.name.split(".")[-1].lower()))
            elif current.expression.find(exp.Column) is not None:
                loose.append(f"{name}: cannot place {current.name}")
        traced[name.lower()] = frozenset(leaves)
    return traced, tuple(loose)


def trace_models(manifest: Mapping[str, Any], cache: Path | None = None
                 ) -> tuple[dict[str, dict[str, frozenset[Ref]]], list[str]]:
    """Return model unique_id -> output column -> the (node, column) references it derives
    from, and a line for each model or column that could not be traced. `cache`: a file
    that keeps the traces between runs (audit/trace_cache.py)."""
    traces = TraceCache(cache, _trace_sql) if cache else None
    nodes = {**manifest["nodes"], **manifest["sources"]}
    by_relation = {_relation(n): uid for uid, n in nodes.items()
                   if n["resource_type"] in ("model", "seed", "source")}
    dialect = manifest.get("metadata", {}).get("adapter_type") or "duckdb"
    traced: dict[str, dict[str, frozenset[Ref]]] = {}
    problems: list[str] = []

    def columns_of(uid: str) -> list[str] | None:
        node = nodes[uid]
        if node["resource_type"] != "model":
            return _leaf_columns(node)
        if uid not in traced:
            trace(uid)
        return list(traced[uid]) if traced[uid] else None

    def trace(uid: str) -> None:
        node = nodes[uid]
        traced[uid] = {}
        schema: dict = {}
        for parent in node.get("depends_on", {}).get("nodes", []):
            if parent not in nodes:
                continue
            columns = columns_of(parent)
            if columns is None:
                problems.append(f"{node['name']}: reads {nodes[parent]['name']}, which "
                                "could not be traced")
                return
            p = nodes[parent]
            schema.setdefault(p["database"], {}).setdefault(p["schema"], {})[
                _relation(p).split(".", 1)[1]] = {c: "varchar" for c in columns}
        code = node.get("compiled_code")
        if not code:
            problems.append(f"{node['name']}: no compiled SQL (run dbt compile or build)")
            return
        try:
            found, loose = (traces.trace if traces else _trace_sql)(
                code, json.dumps(schema, sort_keys=True), dialect)
        except Exception as error:  # sqlglot raises several kinds; each is a finding
            problems.append(f"{node['name']}: sqlglot could not trace it: {error}")
            return
        problems.extend(f"{node['name']}.{line}" for line in loose)
        result = {}
        for column, leaves in found.items():
            refs = set()
            for _catalog, schema_name, table, leaf_column in leaves:
                parent = by_relation.get(f"{schema_name}.{table}")
                if parent is None:
                    problems.append(f"{node['name']}.{column}: reads unknown relation "
                                    f"{schema_name}.{table}")
                    continue
                refs.add((parent, leaf_column))
            result[column] = frozenset(refs)
        traced[uid] = result

    for uid, node in manifest["nodes"].items():
        if node["resource_type"] == "model" and uid not in traced:
            trace(uid)
    if traces:
        traces.save()
    return traced, problems


def _declared_crossings(manifest: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
    # (parent, child) unique_ids of the aggregate-only crossings contracts/lineages.yaml
    # declares; the lineage guard fails a run in which such a parent is not all aggregate.
    ids = {n["name"]: uid for uid, n in manifest["nodes"].items()
           if n["resource_type"] == "model"}
    return frozenset((ids[c.source], ids[c.target]) for c in load_lineages().crossings
                     if c.aggregate_only and c.source in ids and c.target in ids)


# (problems found, source fields of each ref traced so far, declared crossings)
_Context = tuple[list[str], dict[Ref, frozenset[SourceField]], frozenset[Ref]]


def _source_fields(ref: Ref, nodes: Mapping[str, Any], traced: Mapping[str, Any],
                   context: _Context) -> frozenset[SourceField]:
    problems, seen, crossings = context
    if ref in seen:
        return seen[ref]
    uid, column = ref
    node = nodes[uid]
    if node["resource_type"] != "model":
        result = frozenset({SourceField(_field_relation(node), column)})
    elif column not in traced.get(uid, {}):
        problems.append(f"{node['name']}.{column}: not among the columns sqlglot traced")
        result = frozenset()
    else:
        result = frozenset().union(*(
            frozenset({SourceField(_field_relation(nodes[parent]), parent_column)})
            if (parent, uid) in crossings
            else _source_fields((parent, parent_column), nodes, traced, context)
            for parent, parent_column in traced[uid][column]))
    seen[ref] = result
    return result


def _column_meta(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    return (spec.get("config") or {}).get("meta") or spec.get("meta") or {}


def _misclassified(mart: str, column: str, classification: str | None,
                   fields: frozenset[SourceField]) -> list[str]:
    lines = []
    for source_field in sorted(fields):
        category = landing_classifications().get((source_field.relation, source_field.column))
        if category in SPECIAL_CATEGORIES and classification not in SPECIAL_CATEGORIES[category]:
            lines.append(f"{mart}.{column} is classified {classification!r} but derives from "
                         f"{category} field {source_field}")
    return lines


def permitted_purposes(source_field: SourceField, resource_type: str) -> frozenset[str] | None:
    """Return the purposes a source field may serve; None when no policy covers it."""
    if resource_type == "seed" or source_field.relation in NEUTRAL_SOURCES:
        return frozenset(load_purposes())
    if resource_type == "model":  # a model is a leaf only at a declared crossing
        return frozenset(load_purposes())
    columns = landing_policy().get(source_field.relation)
    if columns is None:
        return None
    return columns.get(source_field.column, frozenset())


def check_purpose_lineage(manifest: Mapping[str, Any], *, traces: Path | None = None
                          ) -> ColumnPurposeReport:
    """Return every mart column's source fields, each field whose purposes do not include
    the column's `meta.purpose`, and each column classified below a special category it
    derives from.

    Refuses nothing: a column without a purpose, an unregistered purpose, a field without
    a policy and anything untraceable are in `unresolved`, for the caller to fail on.
    `traces`: a file keeping sqlglot's traces between runs (only the tracing is kept; the
    policies are applied afresh every time).
    """
    nodes = {**manifest["nodes"], **manifest["sources"]}
    kinds = {_field_relation(n): n["resource_type"] for n in nodes.values()}
    traced, problems = trace_models(manifest, traces)
    marts = [(uid, n) for uid, n in manifest["nodes"].items()
             if n["resource_type"] == "model" and n["fqn"][1:2] == [MART_FOLDER]]
    report = ColumnPurposeReport(unresolved=problems,
                                  marts=tuple(sorted(n["name"] for _, n in marts)))
    context: _Context = (report.unresolved, {}, _declared_crossings(manifest))
    for uid, node in sorted(marts, key=lambda item: item[1]["name"]):
        mart, declared = node["name"], node.get("columns") or {}
        for column in sorted(set(declared) - set(traced.get(uid, {}))):
            report.unresolved.append(f"{mart}.{column}: declared but not in the SQL")
        for column in sorted(traced.get(uid, {})):
            meta = _column_meta(declared.get(column, {}))
            purpose = meta.get("purpose")
            if purpose not in frozenset(load_purposes()):
                report.unresolved.append(f"{mart}.{column}: purpose {purpose!r} is not in "
                                         "contracts/purposes.yaml")
                continue
            fields = _source_fields((uid, column), nodes, traced, context)
            report.columns[(mart, column)] = fields
            report.misclassified += _misclassified(mart, column, meta.get("classification"),
                                                   fields)
            for source_field in sorted(fields):
                permitted = permitted_purposes(source_field, kinds.get(source_field.relation, ""))
                if kinds.get(source_field.relation) == "model":
                    report.crossed.append(f"{mart}.{column} <- {source_field} (declared "
                                          "aggregate-only crossing)")
                if permitted is None:
                    report.unresolved.append(f"{mart}.{column}: {source_field} has no "
                                             "purpose policy")
                elif purpose not in permitted:
                    report.violations.append(Violation(mart, column, purpose, source_field,
                                                       tuple(sorted(permitted))))
    return report
