"""Take only what the manifest permits; count what was refused, by field name only."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from ketenbrug.connectors.manifest import DatasetManifest

_LIST_INDEX = re.compile(r"\.\d+")
_ABSENT = object()


@dataclass(frozen=True)
class Allowed:
    identity: dict[str, str | None]
    fields: dict[str, str | None]
    missing: tuple[str, ...] = ()  # permitted fields the record did not carry at all

    @property
    def missing_text(self) -> str | None:
        """The missing field names, comma-separated, for the landing column; None if none."""
        return ",".join(self.missing) or None


def apply_allowlist(record: dict, manifest: DatasetManifest, dropped: Counter) -> Allowed:
    """Return the permitted identity and fields of `record`; add refused paths to `dropped`.

    Values are landed as text (lists and objects as JSON) so that a wrongly typed value
    still lands and is caught by its contract instead of failing the load.
    """
    permitted = manifest.permitted_paths
    for path in _leaf_paths(record):
        if not _permitted(path, permitted):
            dropped[_LIST_INDEX.sub("[]", path)] += 1
    identity = {name: _as_text(_get(record, path)) for name, path in manifest.identity.items()}
    fields, missing = {}, []
    for spec in manifest.fields:
        node = _walk(record, spec.path)
        fields[spec.name] = None if node is _ABSENT else _as_text(node)
        # Absent is not null: a field the source stopped sending (renamed, dropped) is
        # schema drift, which its contract turns into a quarantine instead of silently
        # landing nulls.
        if node is _ABSENT and not spec.optional:
            missing.append(spec.name)
    return Allowed(identity=identity, fields=fields, missing=tuple(missing))


# A dataset's records repeat the same few hundred leaf paths; asking once per path and
# dataset, not once per record, made the allowlist a third of a care pull's time.
@lru_cache(maxsize=65_536)
def _permitted(path: str, permitted: frozenset[str]) -> bool:
    """`path` is a permitted path, lies inside one, or leads to one."""
    return any(path == p or path.startswith(p + ".") or p.startswith(path + ".")
               for p in permitted)


def _get(record: object, path: str) -> object:
    node = _walk(record, path)
    return None if node is _ABSENT else node


def _walk(record: object, path: str) -> object:
    """The value at a dotted path (numeric parts index lists), or _ABSENT."""
    node = record
    for part, index in _parts(path):
        if index is not None and isinstance(node, list) and index < len(node):
            node = node[index]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return _ABSENT
    return node


@lru_cache(maxsize=4096)
def _parts(path: str) -> tuple[tuple[str, int | None], ...]:
    """A path's parts, each with its list index when it is a number: split once per path,
    not once per record and field."""
    return tuple((part, int(part) if part.isdigit() else None) for part in path.split("."))


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _leaf_paths(node: object, prefix: str = "") -> list[str]:
    """Dotted paths of every leaf; list positions become numeric parts."""
    if isinstance(node, dict):
        paths: list[str] = []
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, (dict, list)):
                paths += _leaf_paths(value, path)
            else:  # most values are scalars: no call per leaf
                paths.append(path)
        return paths or [prefix]
    if isinstance(node, list) and node and isinstance(node[0], (dict, list)):
        paths = []
        for i, value in enumerate(node):
            paths += _leaf_paths(value, f"{prefix}.{i}")
        return paths
    return [prefix]
