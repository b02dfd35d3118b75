"""The purposes register: which purpose, on which legal basis, for which recipients."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

REGISTER_PATH = Path(__file__).resolve().parent.parent / "contracts" / "purposes.yaml"


@dataclass(frozen=True)
class Purpose:
    name: str
    description: str
    legal_basis: str
    controller: str
    recipient_kinds: tuple[str, ...]
    reidentification_fields: tuple[str, ...]
    retention: str


@cache
def load_purposes(path: Path = REGISTER_PATH) -> dict[str, Purpose]:
    """Return the purposes register keyed by purpose name."""
    raw = yaml.safe_load(path.read_text())["purposes"]
    return {
        name: Purpose(
            name=name,
            description=spec["description"],
            legal_basis=spec["legal_basis"],
            controller=spec["controller"],
            recipient_kinds=tuple(spec["recipients"]),
            reidentification_fields=tuple(spec.get("reidentification_fields", ())),
            retention=spec["retention"],
        )
        for name, spec in raw.items()
    }
