"""What the audit reports read from the hub's own graphs: the Dagster asset graph, the dbt
manifest and the connector manifests, reduced to plain names so the reports stay pure.

Asset names are Dagster asset keys as user strings: `landing/dji__detentions`, a dbt
model's name (`warm_handover`), `delivery/warm_handover_packages`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ketenbrug.connectors.manifest import DatasetManifest, all_datasets
from ketenbrug.contracts.registers import load_purposes
from ketenbrug.databases import Target
from ketenbrug.project_files import dbt_run_target, ensure_dbt_manifest

MART_FOLDER = "marts"
DELIVERY_PREFIX = "delivery/"

Parents = Mapping[str, tuple[str, ...]]


def landing_datasets() -> dict[str, DatasetManifest]:
    """Return landing asset name (`landing/<slug>__<dataset>`) -> its connector manifest."""
    return {f"landing/{ds.table}": ds for ds in all_datasets()}


def dataset_label(ds: DatasetManifest) -> str:
    """Return the name the disclosure log and the reports use: `<slug>.<dataset>`."""
    return f"{ds.source}.{ds.name}"


def ancestors(parents: Parents, name: str) -> set[str]:
    """Return every asset upstream of `name` (not `name` itself); unknown names have none."""
    seen: set[str] = set()
    todo = list(parents.get(name, ()))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(parents.get(current, ()))
    return seen


def load_dbt_manifest(warehouse: Target, home: Path | None = None
                      ) -> tuple[dict[str, Any], bool]:
    """Return the dbt manifest and whether it holds compiled SQL for every model.

    Prefers the manifest of the last run's `dbt build` (in `dbt_target/`: beside a DuckDB
    warehouse, in the hub's `home` for a PostgreSQL one), which has the SQL that ran;
    falls back to the parsed project manifest, which has dependencies and column meta
    but no compiled SQL.
    """
    run_manifest = dbt_run_target(warehouse, home) / "manifest.json"
    if run_manifest.exists():
        manifest = json.loads(run_manifest.read_text())
    else:
        manifest = json.loads(ensure_dbt_manifest().read_text())
    compiled = all(n.get("compiled_code") for n in manifest["nodes"].values()
                   if n["resource_type"] == "model")
    return manifest, compiled


def marts(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Return mart name -> its dbt node, for the models under models/marts/."""
    return {n["name"]: n for n in manifest["nodes"].values()
            if n["resource_type"] == "model" and n["fqn"][1:2] == [MART_FOLDER]}


def column_meta(node: Mapping[str, Any], column: str) -> Mapping[str, Any]:
    """Return the `meta` of a column (dbt puts it under `config.meta` or `meta`)."""
    spec = (node.get("columns") or {}).get(column) or {}
    return spec.get("meta") or (spec.get("config") or {}).get("meta") or {}


def mart_purposes(node: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the purposes a mart's columns declare in their dbt meta, sorted."""
    purposes = {column_meta(node, c).get("purpose") for c in node.get("columns") or {}}
    return tuple(sorted(p for p in purposes if p is not None))


def asset_purposes(parents: Parents, manifest: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Return asset -> the purposes it serves.

    A landing asset serves its manifest's purposes, a mart those of its columns, a delivery
    asset those of the marts it delivers; anything between (staging, intermediates, seeds,
    pseudonym domains) serves the purposes of the marts downstream of it.
    """
    landing = landing_datasets()
    mart_nodes = marts(manifest)
    served: dict[str, set[str]] = {name: set() for name in parents}
    for name in parents:
        if name in landing:
            served[name] = set(landing[name].purposes)
        elif name in mart_nodes:
            served[name] = set(mart_purposes(mart_nodes[name]))
    for name in parents:
        if name.startswith(DELIVERY_PREFIX):
            served[name] = {p for m in ancestors(parents, name) & set(mart_nodes)
                            for p in served.get(m, ())}
    for mart in mart_nodes:
        for upstream in ancestors(parents, mart):
            if upstream not in landing and upstream in served:
                served[upstream] |= served.get(mart, set())
    return {name: tuple(sorted(p)) for name, p in served.items()}


def recipient_kinds(purposes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return the recipient kinds the purposes register entitles to any of `purposes`."""
    register = load_purposes()
    return tuple(sorted({k for p in purposes if p in register
                         for k in register[p].recipient_kinds}))


def traced_columns(manifest: Mapping[str, Any]) -> dict[tuple[str, str], frozenset] | None:
    """Return (mart, column) -> the landed source fields it derives from, traced through
    the compiled SQL by pipelines.column_lineage; None when that module is not there."""
    # A colleague's module, imported late: the reports still work (at model level) on a
    # checkout without it.
    try:
        from ketenbrug.audit.column_purpose import check_purpose_lineage
    except ImportError:
        return None
    return dict(check_purpose_lineage(manifest).columns)
