"""The registers beside the contracts, loaded here and nowhere else.

- `purposes.yaml`, the purposes register: which purpose, on which legal basis, for which
  recipients, re-identifying which fields, kept how long;
- `lineages.yaml`: the lineages (statutory, municipal-funded), where each dbt folder and
  Dagster asset group belongs, what is neutral, and the crossings declared between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from ketenbrug import yaml_files

_HERE = Path(str(resources.files(__package__)))
PURPOSES_PATH = _HERE / "purposes.yaml"
LINEAGES_PATH = _HERE / "lineages.yaml"
NEUTRAL = "neutral"


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
def load_purposes(path: Path = PURPOSES_PATH) -> dict[str, Purpose]:
    """Return the purposes register keyed by purpose name."""
    raw = yaml_files.safe_load(path.read_text())["purposes"]
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


@dataclass(frozen=True)
class Crossing:
    source: str
    target: str
    why: str
    aggregate_only: bool


@dataclass(frozen=True)
class Lineage:
    name: str
    funding_stream: str
    dbt_folders: frozenset[str]
    asset_groups: frozenset[str]


@dataclass(frozen=True)
class LineagePolicy:
    lineages: tuple[Lineage, ...]
    neutral_resource_types: frozenset[str]
    neutral_groups: frozenset[str]
    neutral_names: frozenset[str]
    crossings: tuple[Crossing, ...]

    def declares(self, parent: str, child: str) -> Crossing | None:
        """Return the declared crossing parent -> child, or None."""
        return next((c for c in self.crossings if (c.source, c.target) == (parent, child)),
                    None)

    def of_folder(self, folder: str) -> str | None:
        """Return the lineage whose dbt folders hold `folder` exactly; None if none does."""
        return next((line.name for line in self.lineages if folder in line.dbt_folders), None)

    def of_group(self, group: str | None) -> str | None:
        """Return the lineage of a Dagster asset group; None for an unknown group."""
        if group in self.neutral_groups:
            return NEUTRAL
        return next((line.name for line in self.lineages if group in line.asset_groups), None)

    def funding_stream(self, lineage: str) -> str | None:
        return next((line.funding_stream for line in self.lineages if line.name == lineage),
                    None)


@cache
def load_lineages(path: Path = LINEAGES_PATH) -> LineagePolicy:
    """Return the lineages, neutral nodes and declared crossings of contracts/lineages.yaml.

    Refuses (ValueError) a crossing that names a node twice or a lineage folder or group
    claimed by two lineages: the classification must be unambiguous.
    """
    raw = yaml_files.safe_load(path.read_text())
    lineages = tuple(
        Lineage(name, spec["funding_stream"], frozenset(spec["dbt_folders"]),
                frozenset(spec["asset_groups"]))
        for name, spec in raw["lineages"].items())
    for attribute in ("dbt_folders", "asset_groups"):
        claimed = [x for line in lineages for x in getattr(line, attribute)]
        if len(claimed) != len(set(claimed)):
            raise ValueError(f"{path.name}: {attribute} claimed by more than one lineage")
    crossings = tuple(Crossing(c["from"], c["to"], " ".join(c["why"].split()),
                               bool(c.get("aggregate_only", False)))
                      for c in raw.get("crossings") or [])
    if any(c.source == c.target for c in crossings):
        raise ValueError(f"{path.name}: a crossing from a node to itself")
    neutral = raw.get("neutral") or {}
    return LineagePolicy(
        lineages=lineages,
        neutral_resource_types=frozenset(neutral.get("dbt_resource_types", [])),
        neutral_groups=frozenset(neutral.get("asset_groups", [])),
        neutral_names=frozenset(neutral.get("names", [])),
        crossings=crossings)
