"""Draw the lineage graph as SVG, written as plain XML text: four columns (source
systems, datasets, marts, recipients), curved edges with their legal basis or purpose,
the whole text of each node and edge in a <title> (shown on hover).

No layout engine (graphviz is not there, and no dependency is worth one picture): each
column is spread evenly over the height, and marts and recipients are ordered by the
mean position of what feeds them, which keeps most edges from crossing. Every text
goes through `_esc`.
"""

from __future__ import annotations

from pathlib import Path

from ketenbrug.audit.lineage_graph import KINDS, Edge, LineageGraph, Node, lineage_graph
from ketenbrug.audit.provenance import ProvenanceReport

SVG_NS = "http://www.w3.org/2000/svg"
_COLUMN_X = {"source": 20, "dataset": 400, "mart": 860, "recipient": 1370}
_NODE_W = {"source": 150, "dataset": 220, "mart": 210, "recipient": 200}
_HEADINGS = {"source": "source systems (controller)", "dataset": "datasets (contract)",
             "mart": "marts (purposes)", "recipient": "recipients"}
# Each edge ends at a port of its own on the target's left side, its label just above
# it: labels of edges into one node stack instead of overlapping.
_NODE_H, _PORT_H, _GAP, _TOP = 34, 13, 10, 50
_FILL = {"source": "#e3ecf7", "dataset": "#eef5e6", "mart": "#fdf1dc", "recipient": "#f6e4e4"}
_STYLE = (".node text{font:12px sans-serif;fill:#1b1b1b}"
          ".node .detail{font-size:10px;fill:#555}"
          ".edge path{fill:none;stroke:#8a9bb0;stroke-width:1.2}"
          ".edge text{font:9px sans-serif;fill:#2b4c7e}"
          ".heading{font:bold 13px sans-serif;fill:#2b4c7e}")


def render_svg(report: ProvenanceReport, *, standalone: bool = True) -> str:
    """Return the report's lineage as an SVG document; `standalone=False` gives the bare
    <svg> element to embed in HTML (no XML declaration, no namespace URL)."""
    graph = lineage_graph(report)
    columns = _ordered_columns(graph)
    incoming: dict[str, list[Edge]] = {}
    for edge in graph.edges:
        incoming.setdefault(edge.target, []).append(edge)
    heights = {n.key: float(max(_NODE_H, _PORT_H * len(incoming.get(n.key, [])) + 8))
               for n in graph.nodes}
    span = max(sum(heights[n.key] + _GAP for n in c) for c in columns.values())
    tops = {key: top for column in columns.values()
            for key, top in _stack(column, heights, span)}
    height = int(_TOP + span) + 20
    width = _COLUMN_X["recipient"] + _NODE_W["recipient"] + 20
    kinds = {n.key: n.kind for n in graph.nodes}
    ports = {}
    for key, edges in incoming.items():
        step = heights[key] / (len(edges) + 1)
        for i, edge in enumerate(sorted(edges, key=lambda e: tops[e.source])):
            ports[edge.source, edge.target] = tops[key] + step * (i + 1)
    parts = [f'<svg{f" xmlns={_attr(SVG_NS)}" if standalone else ""} width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="lineage: sources, datasets, marts, recipients">',
             f"<title>Ketenbrug lineage, {_esc(report.generated_at)}</title>",
             f"<style>{_STYLE}</style>"]
    parts += [f'<text class="heading" x="{_COLUMN_X[k]}" y="24">{_esc(_HEADINGS[k])}</text>'
              for k in KINDS]
    for edge in graph.edges:
        start = (_COLUMN_X[kinds[edge.source]] + _NODE_W[kinds[edge.source]],
                 tops[edge.source] + heights[edge.source] / 2)
        end = (_COLUMN_X[kinds[edge.target]], ports[edge.source, edge.target])
        parts.append(_edge(edge, start, end))
    parts += [_node(n, tops[n.key], heights[n.key]) for c in columns.values() for n in c]
    parts.append("</svg>")
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if standalone else ""
    return head + "\n".join(parts) + "\n"


def write_svg(report: ProvenanceReport, path: Path) -> Path:
    """Write the diagram to `path` (parents created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_svg(report), encoding="utf-8")
    return path


def _ordered_columns(graph: LineageGraph) -> dict[str, list[Node]]:
    columns: dict[str, list[Node]] = {k: [] for k in KINDS}
    for node in graph.nodes:
        columns[node.kind].append(node)
    columns["source"].sort(key=lambda n: n.name)
    columns["dataset"].sort(key=lambda n: n.name)  # `<slug>.<dataset>`: by source
    for kind, before in (("mart", "dataset"), ("recipient", "mart")):
        position = {n.key: i for i, n in enumerate(columns[before])}
        feeds: dict[str, list[int]] = {}
        for edge in graph.edges:
            if edge.source in position:
                feeds.setdefault(edge.target, []).append(position[edge.source])
        columns[kind].sort(key=lambda n: (sum(feeds.get(n.key, [0]))
                                          / len(feeds.get(n.key, [0])), n.name))
    return columns


def _stack(column: list[Node], heights: dict[str, float], span: float
           ) -> list[tuple[str, float]]:
    """Top of each node of a column, spread evenly over `span` (the tallest column's)."""
    gap = (span - sum(heights[n.key] for n in column)) / max(len(column), 1)
    tops, y = [], _TOP + gap / 2
    for node in column:
        tops.append((node.key, y))
        y += heights[node.key] + gap
    return tops


def _node(node: Node, top: float, height: float) -> str:
    x, w = _COLUMN_X[node.kind], _NODE_W[node.kind]
    lines = [(node.name, "")] + ([(node.detail, ' class="detail"')] if node.detail else [])
    first = top + height / 2 - 7 * (len(lines) - 1) + 4
    text = "".join(f'<text{cls} x="{x + 6}" y="{first + 14 * i:.1f}">{_esc(_short(t, w))}'
                   "</text>" for i, (t, cls) in enumerate(lines))
    title = node.name + (f" - {node.detail}" if node.detail else "")
    return (f'<g class="node" data-kind={_attr(node.kind)} data-name={_attr(node.name)}>'
            f"<title>{_esc(title)}</title><rect x=\"{x}\" y=\"{top:.1f}\" width=\"{w}\" "
            f'height="{height:.1f}" rx="4" fill="{_FILL[node.kind]}" stroke="#8a9bb0"/>'
            f"{text}</g>")


def _edge(edge: Edge, start: tuple[float, float], end: tuple[float, float]) -> str:
    (x1, y1), (x2, y2) = start, end
    mid = (x1 + x2) / 2
    return (f'<g class="edge" data-from={_attr(edge.source)} data-to={_attr(edge.target)}>'
            f"<title>{_esc(edge.title)}</title>"
            f'<path d="M{x1},{y1:.1f} C{mid},{y1:.1f} {mid},{y2:.1f} {x2},{y2:.1f}"/>'
            f'<text x="{x2 - 4}" y="{y2 - 2:.1f}" text-anchor="end">'
            f"{_esc(_short(edge.label, int((x2 - x1) * 0.85), 5.0))}</text></g>")


def _short(text: str, width: int, char_px: float = 6.5) -> str:
    """`text` cut to what fits `width` pixels (`char_px` a character), marked with …."""
    fits = max(int((width - 10) / char_px), 4)
    return text if len(text) <= fits else text[:fits - 1] + "…"


# Characters XML 1.0 cannot hold at all, not even escaped.
_NOT_XML = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF],
                         "\N{REPLACEMENT CHARACTER}")


def _esc(text: str) -> str:
    return (text.translate(_NOT_XML).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _attr(text: str) -> str:
    return f'"{_esc(text)}"'
