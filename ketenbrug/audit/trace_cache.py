"""sqlglot's traces of the marts' compiled SQL, kept between runs.

Tracing every model is seconds of CPU on every run (a third of an unchanged rerun's
checks), yet a model's trace depends only on its compiled SQL, the columns of what it
reads, the dialect, the sqlglot version and the tracer's own code: the cache key covers
exactly these, so a changed model, parent, upgrade or tracer is traced afresh. A trace
that failed is never kept (it is tried, and reported, again). The file lives in the run's
dbt target folder, inside the hub's private home; a damaged file is ignored.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path

import sqlglot

Trace = tuple[dict[str, frozenset], tuple]


class TraceCache:
    def __init__(self, path: Path, tracer: Callable[[str, str, str], Trace]) -> None:
        self.path, self._tracer = path, tracer
        self._salt = [sqlglot.__version__, inspect.getsource(tracer)]
        self._kept: dict[str, dict] = {}
        self._used: dict[str, dict] = {}
        try:
            loaded = json.loads(path.read_text())
            self._kept = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            pass
        self.hits = 0

    def trace(self, code: str, schema_json: str, dialect: str) -> Trace:
        """The tracer's result for one model, from the file where it was traced before."""
        key = hashlib.sha256(json.dumps([*self._salt, code, schema_json, dialect])
                             .encode()).hexdigest()
        entry = self._used.get(key) or self._kept.get(key)
        if isinstance(entry, dict) and {"traced", "loose"} <= entry.keys():
            self.hits += 1
        else:
            traced, loose = self._tracer(code, schema_json, dialect)
            entry = {"traced": {column: sorted(leaves) for column, leaves in traced.items()},
                     "loose": list(loose)}
        self._used[key] = entry
        return ({column: frozenset(tuple(leaf) for leaf in leaves)
                 for column, leaves in entry["traced"].items()}, tuple(entry["loose"]))

    def save(self) -> None:
        """Keep this run's traces only (an old model's go), written whole or not at all."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(self._used, sort_keys=True))
        os.replace(partial, self.path)
