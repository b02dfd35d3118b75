"""YAML as the hub reads it: PyYAML's safe loader, on libyaml's C parser where PyYAML was
built with it (its wheels are). The same documents and errors, ~10x faster than the pure
Python parser, which every process paid at start-up for the contracts, manifests and
registers its definitions read (~0.15 s)."""

from __future__ import annotations

from typing import Any

import yaml

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """`yaml.safe_load`, on the C parser when there is one."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader, either way
