"""Connector manifests: the only place that says what the hub may take from a source."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from ketenbrug import yaml_files

CONNECTORS_DIR = Path(__file__).resolve().parent
SOURCES = ("probation", "dji", "wijkteam", "care", "municipal_orders")
CLASSIFICATIONS = ("identifying", "criminal", "health", "social", "operational")
# What the boundary scans for identities (privacy.identity_detection.FORMS): free text
# for every rule, identifiers for what a key could be; None (structured, enum, date) is
# left to its contract.
FORMS = ("free_text", "identifier")


@dataclass(frozen=True)
class FieldSpec:
    name: str  # the landed column name
    path: str  # dotted path in the source record; numeric parts index lists
    classification: str
    purposes: tuple[str, ...]
    optional: bool = False  # the source may leave it out (FHIR omits empty elements)
    form: str | None = None  # "free_text" | "identifier": scanned for identities at the boundary
    mailbox_roles: tuple[str, ...] = ()  # functional mailboxes ("team" -> team-utrecht@...)


@dataclass(frozen=True)
class DatasetManifest:
    source: str
    name: str
    record_key: str
    processing_register_id: str
    legal_basis: str
    purposes: tuple[str, ...]
    retention: str
    retention_anchor: str  # the field whose date starts the retention period
    identity: dict[str, str]  # vault field -> source path
    fields: tuple[FieldSpec, ...]
    controller: str
    regime: str

    @property
    def table(self) -> str:
        """The landing table name, `<slug>__<dataset>`."""
        return f"{self.source}__{self.name}"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def scanned_fields(self) -> tuple[FieldSpec, ...]:
        """The fields the boundary scans for identities: free text and identifiers."""
        return tuple(f for f in self.fields if f.form)

    @cached_property
    def permitted_paths(self) -> frozenset[str]:
        return frozenset([*self.identity.values(), *(f.path for f in self.fields)])


@cache
def load_manifest(source: str) -> dict[str, DatasetManifest]:
    """Return the datasets of `source` keyed by dataset name; refuses unknown sources."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
    raw = yaml_files.safe_load((CONNECTORS_DIR / source / "manifest.yaml").read_text())
    datasets = {}
    for name, spec in raw["datasets"].items():
        fields = tuple(
            FieldSpec(
                name=field,
                path=(opts or {}).get("path", field),
                classification=(opts or {})["classification"],
                purposes=tuple((opts or {}).get("purposes", spec["purposes"])),
                optional=bool((opts or {}).get("optional", False)),
                form=_form(source, name, field, opts or {}, spec["record_key"]),
                mailbox_roles=tuple((opts or {}).get("mailbox_roles", ())),
            )
            for field, opts in spec["fields"].items()
        )
        datasets[name] = DatasetManifest(
            source=source, name=name, record_key=spec["record_key"],
            processing_register_id=spec["processing_register_id"],
            legal_basis=spec["legal_basis"], purposes=tuple(spec["purposes"]),
            retention=spec["retention"], retention_anchor=spec["retention_anchor"],
            identity=dict(spec.get("identity") or {}),
            fields=fields, controller=raw["controller"], regime=raw["regime"],
        )
    return datasets


def _form(source: str, dataset: str, field: str, opts: dict, record_key: str) -> str | None:
    """The field's form; the record key is always an identifier. Refuses an unknown form,
    and mailbox roles on a field that is not free text (they exempt e-mail addresses)."""
    form = opts.get("form") or ("identifier" if field == record_key else None)
    if form is not None and form not in FORMS:
        raise ValueError(f"manifest {source}: {dataset}.{field} has form {form!r}; "
                         f"known: {', '.join(FORMS)}")
    if opts.get("mailbox_roles") and form != "free_text":
        raise ValueError(f"manifest {source}: {dataset}.{field} lists mailbox_roles "
                         "but is not form: free_text")
    return form


def all_datasets() -> list[DatasetManifest]:
    """Every dataset of every source, in a stable order."""
    return [ds for source in SOURCES for ds in load_manifest(source).values()]
