"""The code location's asset graph as plain data, for the audit reports that need it.

The reports (ketenbrug.audit) take the graph as a mapping and import no Dagster; the
people-facing commands build it here and pass it in.
"""

from __future__ import annotations

from functools import cache


@cache
def _load_graph_parents() -> tuple[tuple[str, tuple[str, ...]], ...]:
    # Importing the code location builds every asset (and parses dbt when due): seconds,
    # so it is done once per process and only when a report asks for it.
    from ketenbrug.pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    return tuple(
        (key.to_user_string(),
         tuple(sorted(p.to_user_string() for p in graph.get(key).parent_keys)))
        for key in graph.get_all_asset_keys()
    )


def asset_parents() -> dict[str, tuple[str, ...]]:
    """Return every asset of `pipelines.definitions.defs` -> its direct upstream assets."""
    return dict(_load_graph_parents())
