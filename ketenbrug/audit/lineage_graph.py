"""The lineage report as a graph to draw: source systems -> landed datasets -> marts ->
actual recipients, each edge labelled with the legal basis or purpose it rests on.

A delivery (delivery/warm_handover_packages) is not a node of its own: its recipients
hang from the marts it delivers, and the edge names the delivery. Pure: built from a
ProvenanceReport only.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketenbrug.audit.provenance import Output, ProvenanceReport
from ketenbrug.audit.recipients import ActualRecipient

KINDS = ("source", "dataset", "mart", "recipient")  # the diagram's columns, left to right


@dataclass(frozen=True)
class Node:
    kind: str  # one of KINDS
    name: str
    detail: str = ""  # a second, smaller line

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class Edge:
    source: str  # Node.key
    target: str  # Node.key
    label: str  # short: a legal basis or purposes
    title: str  # the whole of it, shown on hover


@dataclass(frozen=True)
class LineageGraph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def lineage_graph(report: ProvenanceReport) -> LineageGraph:
    """Return the report's nodes (each once) and lineage links (each once)."""
    nodes: dict[str, Node] = {}
    edges: dict[tuple[str, str], Edge] = {}

    def add(node: Node) -> str:
        nodes.setdefault(node.key, node)
        return node.key

    def link(source: str, target: str, label: str, title: str) -> None:
        edges.setdefault((source, target), Edge(source, target, label, title))

    marts = [o for o in report.outputs if o.kind == "mart"]
    for out in marts:
        mart = add(Node("mart", out.name, _join(out.purposes)))
        for ds in out.datasets:
            slug = ds.label.split(".", 1)[0]
            source = add(Node("source", slug, ds.controller))
            dataset = add(Node("dataset", ds.label, f"contract {ds.contract_version}"))
            link(source, dataset, ds.legal_basis,
                 f"{slug} -> {ds.label}: legal basis {ds.legal_basis}")
            shared = [p for p in out.purposes if p in ds.purposes] or list(out.purposes)
            link(dataset, mart, _join(shared),
                 f"{ds.label} -> {out.name}: for {_join(shared)}")
        for via, received in _received(out, report.outputs):
            recipient = add(Node("recipient", received.recipient))
            bases = "; ".join(f"{p}: {b}" for p, b in sorted(via.purpose_bases.items()))
            counts = _counts(received)
            link(mart, recipient, f"{_join(via.purposes)}: {counts}",
                 f"{out.name} -> {received.recipient}"
                 + (f" via {via.name}" if via is not out else "")
                 + f": {bases or _join(via.purposes)}; distinct {counts}")
    return LineageGraph(tuple(nodes.values()), tuple(edges.values()))


def _received(mart: Output, outputs: list[Output]) -> list[tuple[Output, ActualRecipient]]:
    """The recipients of `mart`, each through the delivery of it that reached them (or
    the mart itself when it is read, not delivered)."""
    found: dict[str, tuple[Output, ActualRecipient]] = {}
    for out in outputs:
        if out.kind == "delivery" and mart.name in out.delivers:
            for r in out.actual_recipients:
                found.setdefault(r.recipient, (out, r))
    for r in mart.actual_recipients:
        found.setdefault(r.recipient, (mart, r))
    return [found[name] for name in sorted(found)]


def _counts(received: ActualRecipient) -> str:
    persons = (_plural(received.persons, "person") if received.persons
               else "no personal data")
    return f"{persons}, {_plural(received.deliveries, 'delivery', 'deliveries')}"


def _plural(count: int, one: str, many: str = "") -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _join(values: list[str] | tuple[str, ...]) -> str:
    return ", ".join(values) or "-"
