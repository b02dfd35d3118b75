"""Lineage separation: the municipal-funded (billable) lineage and the statutory one meet
only over the crossings declared in contracts/lineages.yaml.

Every dbt node is placed by the folder it is defined in, every Dagster asset by its
group; reference data is neutral. An edge whose two ends sit in different lineages is a
crossing, and a crossing that is not declared is a violation. Reads the dbt manifest
(`parent_map` and the node properties) and anything shaped like Dagster's asset graph;
imports no Dagster, so the test and the run-time check share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ketenbrug.contracts.registers import NEUTRAL, Crossing, LineagePolicy, load_lineages

# Node kinds that carry data; tests, unit tests and exposures read but feed nothing.
_DATA_NODES = ("model", "seed", "snapshot", "source")


@dataclass(frozen=True)
class Edge:
    graph: str  # "dbt" or "dagster"
    parent: str
    child: str
    parent_lineage: str
    child_lineage: str

    def describe(self) -> str:
        return (f"{self.graph}: {self.parent} ({self.parent_lineage}) -> "
                f"{self.child} ({self.child_lineage})")


@dataclass
class FundingSeparationReport:
    """What the guard found. `ok` is False on anything but unused declarations."""

    undeclared: list[Edge] = field(default_factory=list)
    unclassified: list[str] = field(default_factory=list)
    mislabelled: list[str] = field(default_factory=list)
    not_aggregate: list[str] = field(default_factory=list)
    crossings_seen: list[Edge] = field(default_factory=list)
    unused_crossings: list[Crossing] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.undeclared or self.unclassified or self.mislabelled
                    or self.not_aggregate)

    def problems(self) -> list[str]:
        """Return one readable line per violation (empty when ok)."""
        return ([f"undeclared crossing {e.describe()}" for e in self.undeclared]
                + [f"no lineage for {n}" for n in self.unclassified]
                + [f"funding_stream meta disagrees: {n}" for n in self.mislabelled]
                + [f"crossing is not aggregate-only: {n}" for n in self.not_aggregate])


def funding_stream_of_group(group: str) -> str | None:
    """Return the funding stream of the lineage a Dagster asset group belongs to, or None."""
    policy = load_lineages()
    return policy.funding_stream(policy.of_group(group) or "")


def dbt_name(node: Mapping[str, Any]) -> str:
    """Return the name a node has in both graphs: a model's name, `<source>/<table>`."""
    if node["resource_type"] == "source":
        return f"{node['source_name']}/{node['name']}"
    return node["name"]


def _dbt_folder(node: Mapping[str, Any]) -> str:
    # fqn is [package, *folders, name]; a source's is [package, *folders, source, table].
    tail = 2 if node["resource_type"] == "source" else 1
    return "/".join(node["fqn"][1:-tail])


def classify_dbt(manifest: Mapping[str, Any], policy: LineagePolicy) -> dict[str, str | None]:
    """Return unique_id -> lineage (or NEUTRAL, or None when no rule places it)."""
    nodes = {**manifest["nodes"], **manifest["sources"]}
    placed: dict[str, str | None] = {}
    for unique_id, node in nodes.items():
        if node["resource_type"] not in _DATA_NODES:
            continue
        if (node["resource_type"] in policy.neutral_resource_types
                or dbt_name(node) in policy.neutral_names):
            placed[unique_id] = NEUTRAL
        else:
            placed[unique_id] = policy.of_folder(_dbt_folder(node))
    return placed


def classify_assets(asset_graph: Any, policy: LineagePolicy) -> dict[str, str | None]:
    """Return asset key (user string) -> lineage, NEUTRAL or None, by asset group."""
    placed: dict[str, str | None] = {}
    for key in asset_graph.get_all_asset_keys():
        name = key.to_user_string()
        placed[name] = (NEUTRAL if name in policy.neutral_names
                        else policy.of_group(asset_graph.get(key).group_name))
    return placed


def dbt_edges(manifest: Mapping[str, Any], policy: LineagePolicy) -> tuple[list[Edge], list[str]]:
    """Return every parent -> child edge between data nodes, and the nodes left unplaced."""
    nodes = {**manifest["nodes"], **manifest["sources"]}
    placed = classify_dbt(manifest, policy)
    edges = [
        Edge("dbt", dbt_name(nodes[parent]), dbt_name(nodes[child]),
             str(placed[parent]), str(placed[child]))
        for child, parents in manifest["parent_map"].items() if child in placed
        for parent in parents if parent in placed
    ]
    return edges, sorted(f"dbt {dbt_name(nodes[u])}" for u, line in placed.items()
                         if line is None)


def dagster_edges(asset_graph: Any, policy: LineagePolicy) -> tuple[list[Edge], list[str]]:
    """Return every parent -> child edge of the asset graph, and the assets left unplaced."""
    placed = classify_assets(asset_graph, policy)
    edges = [
        Edge("dagster", parent.to_user_string(), key.to_user_string(),
             str(placed[parent.to_user_string()]), str(placed[key.to_user_string()]))
        for key in asset_graph.get_all_asset_keys()
        for parent in asset_graph.get(key).parent_keys
    ]
    return edges, sorted(f"dagster {n}" for n, line in placed.items() if line is None)


def _is_crossing(edge: Edge) -> bool:
    ends = {edge.parent_lineage, edge.child_lineage}
    return len(ends) == 2 and NEUTRAL not in ends and "None" not in ends


def _mislabelled(manifest: Mapping[str, Any], policy: LineagePolicy) -> list[str]:
    # The funding_stream a model says it serves (dbt meta, shown in Dagster) must be that
    # of the lineage its folder puts it in.
    wrong = []
    for unique_id, lineage in classify_dbt(manifest, policy).items():
        node = manifest["nodes"].get(unique_id)
        if (node is None or node["resource_type"] != "model"
                or lineage is None or lineage == NEUTRAL):
            continue
        said = (node.get("config", {}).get("meta") or {}).get("funding_stream")
        if said != policy.funding_stream(lineage):
            wrong.append(f"{node['name']} says {said!r}, lives in {lineage}")
    return wrong


def _not_aggregate(manifest: Mapping[str, Any], crossings: Iterable[Crossing]) -> list[str]:
    # An aggregate-only crossing reads a model whose contract is enforced (so its columns
    # are exactly the declared ones) and whose every column is classified aggregate.
    by_name = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    problems = []
    for crossing in crossings:
        node = by_name.get(crossing.source)
        if not crossing.aggregate_only or node is None:
            continue
        columns = node.get("columns") or {}
        enforced = (node.get("config", {}).get("contract") or {}).get("enforced", False)
        loose = [c for c, spec in columns.items()
                 if ((spec.get("config") or {}).get("meta") or spec.get("meta") or {}
                     ).get("classification") != "aggregate"]
        if not enforced or not columns or loose:
            problems.append(f"{crossing.source} -> {crossing.target} (contract enforced: "
                            f"{enforced}, non-aggregate columns: {loose or 'none'})")
    return problems


def check_lineage(manifest: Mapping[str, Any], asset_graph: Any = None,
                  policy: LineagePolicy | None = None) -> FundingSeparationReport:
    """Return what separates or fails to separate the lineages in dbt and (if given) Dagster.

    Refuses nothing: every violation is in the report, for the caller to fail on.
    """
    policy = policy or load_lineages()
    edges, unplaced = dbt_edges(manifest, policy)
    if asset_graph is not None:
        more, unplaced_assets = dagster_edges(asset_graph, policy)
        edges, unplaced = edges + more, unplaced + unplaced_assets
    crossings = [e for e in edges if _is_crossing(e)]
    seen = {(e.parent, e.child) for e in crossings}
    return FundingSeparationReport(
        undeclared=[e for e in crossings if not policy.declares(e.parent, e.child)],
        unclassified=unplaced,
        mislabelled=_mislabelled(manifest, policy),
        not_aggregate=_not_aggregate(manifest, (c for c in policy.crossings
                                                if (c.source, c.target) in seen)),
        crossings_seen=crossings,
        unused_crossings=[c for c in policy.crossings if (c.source, c.target) not in seen])


def undeclared_crossings(manifest: Mapping[str, Any], asset_graph: Any = None,
                         policy: LineagePolicy | None = None) -> list[Edge]:
    """Return the crossing edges contracts/lineages.yaml does not declare (empty when clean)."""
    return check_lineage(manifest, asset_graph, policy).undeclared
