"""OpenLineage datasets for the hub's assets: their names, and the standard facets a
catalogue shows for a table - schema (with each column's purpose and classification from
dbt meta) and column lineage (each mart column's landed source fields, traced by
pipelines.column_lineage) - beside the hub's own `ketenbrug_purpose` facet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openlineage.client.generated import column_lineage_dataset as col
from openlineage.client.generated import schema_dataset

from ketenbrug.audit.graph import DELIVERY_PREFIX, column_meta
from ketenbrug.audit.openlineage.facet import PRODUCER

WAREHOUSE_NS = "ketenbrug://warehouse"
OUTBOX_NS = "ketenbrug://outbox"
SOURCE_NS = "ketenbrug://source"  # + /<slug>: the source system a connector pulls from

Traced = Mapping[tuple[str, str], frozenset]  # (mart, column) -> column_lineage.SourceField


def _dbt_node(asset: str, manifest: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next((n for n in manifest["nodes"].values() if n["name"] == asset
                 and n["resource_type"] in ("model", "seed", "snapshot")), None)


def dataset_name(asset: str, manifest: Mapping[str, Any]) -> tuple[str, str]:
    """Return (namespace, name) of the OpenLineage dataset for an asset.

    A table is `<schema>.<table>` in the warehouse namespace, the name the column lineage
    uses for it too; a delivery is named by its asset in the outbox namespace.
    """
    if asset.startswith(DELIVERY_PREFIX):
        return OUTBOX_NS, asset.removeprefix(DELIVERY_PREFIX)
    node = _dbt_node(asset, manifest)
    if node is not None:
        return WAREHOUSE_NS, f"{node['schema']}.{node.get('alias') or node['name']}"
    return WAREHOUSE_NS, asset.replace("/", ".")  # landing/x -> landing.x, privacy/y -> ...


def table_facets(asset: str, manifest: Mapping[str, Any], traced: Traced | None
                 ) -> dict[str, Any]:
    """Return the `schema` facet of a dbt model or seed with declared columns, and the
    `columnLineage` facet of a mart whose columns were traced; empty for anything else."""
    node = _dbt_node(asset, manifest)
    if node is None or not node.get("columns"):
        return {}
    facets: dict[str, Any] = {"schema": schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(
            name=name, type=spec.get("data_type"), ordinal_position=i,
            description="; ".join(f"{k}: {v}" for k, v in sorted(column_meta(node, name).items())
                                  if k in ("purpose", "classification")) or None)
            for i, (name, spec) in enumerate(node["columns"].items(), start=1)],
        producer=PRODUCER)}
    lineage = {column: col.Fields(
        inputFields=[col.InputField(namespace=WAREHOUSE_NS, name=f.relation, field=f.column)
                     for f in sorted(fields)],
        transformationDescription="traced through the compiled dbt SQL (sqlglot)")
        for (mart, column), fields in sorted((traced or {}).items()) if mart == asset}
    if lineage:
        facets["columnLineage"] = col.ColumnLineageDatasetFacet(fields=lineage,
                                                                producer=PRODUCER)
    return facets
