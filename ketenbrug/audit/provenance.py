"""The privacy officer's lineage report: for each output (every mart, every delivery), the
source datasets and fields it is built from, their legal bases, purposes, contract versions
and recipients - entitled kinds from the purposes register, actual ones from the
disclosure log.

Drawn from the Dagster asset graph (which landing datasets lie upstream), the dbt manifest
(column meta, compiled SQL), the connector manifests and the ODCS contracts. Field-level
lineage comes from `pipelines.column_lineage` (sqlglot over the compiled SQL); when the
manifest has no compiled SQL the report falls back to model level and says so. Holds
names, bases and counts only: no personal value is read. Actual recipients are counted
in distinct persons (ketenbrug.audit.recipients).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ketenbrug.audit.graph import (
    DELIVERY_PREFIX,
    Parents,
    ancestors,
    asset_purposes,
    dataset_label,
    landing_datasets,
    marts,
    recipient_kinds,
    traced_columns,
)
from ketenbrug.audit.recipients import ActualRecipient, actual_recipients
from ketenbrug.connectors.manifest import DatasetManifest
from ketenbrug.contracts.odcs import load_contract
from ketenbrug.contracts.registers import load_purposes
from ketenbrug.privacy.disclosure_log import LogLocation, read_log
from ketenbrug.warehouse.schema import DOMAIN_PSEUDONYMS, landing_table

FIELD_LEVEL = "field level (pipelines.column_lineage: sqlglot over the compiled dbt SQL)"
MODEL_LEVEL = ("model level: the dbt manifest has no compiled SQL, so every permitted field "
               "of each upstream dataset whose purposes include the output's is listed")


@dataclass(frozen=True)
class SourceDataset:
    label: str  # `<slug>.<dataset>`
    table: str  # landing table
    controller: str
    regime: str
    legal_basis: str
    purposes: tuple[str, ...]
    contract_id: str
    contract_version: str
    register_id: str
    retention: str


@dataclass(frozen=True)
class SourceField:
    dataset: str  # a SourceDataset label, or the relation of a non-landing input
    name: str
    classification: str
    purposes: tuple[str, ...]
    columns: tuple[str, ...] = ()  # output columns derived from it (field level only)


@dataclass
class Output:
    name: str
    kind: str  # "mart" or "delivery"
    purposes: tuple[str, ...]
    purpose_bases: dict[str, str]  # purpose -> legal basis in the purposes register
    datasets: list[SourceDataset] = field(default_factory=list)
    fields: list[SourceField] = field(default_factory=list)
    recipient_kinds: tuple[str, ...] = ()
    exposure_recipients: tuple[str, ...] = ()
    actual_recipients: list[ActualRecipient] = field(default_factory=list)
    delivers: tuple[str, ...] = ()  # a delivery: the marts it delivers


@dataclass
class ProvenanceReport:
    outputs: list[Output]
    level: str  # FIELD_LEVEL or MODEL_LEVEL
    generated_at: str
    disclosure_log: str | None  # path read, or None when none was given or it is missing


def build_lineage(parents: Parents, manifest: Mapping[str, Any], *, compiled: bool,
                  disclosure_log: LogLocation | None = None) -> ProvenanceReport:
    """Return the lineage of every mart and delivery asset in `parents` (the asset graph).

    `compiled` says whether `manifest` holds compiled SQL; only then is lineage traced to
    fields. Refuses nothing: an output without upstream landing datasets is listed empty.
    """
    landing = landing_datasets()
    served = asset_purposes(parents, manifest)
    traced = traced_columns(manifest) if compiled else None
    entries = read_log(disclosure_log) if disclosure_log else []
    mart_nodes = marts(manifest)
    names = sorted(n for n in parents if n in mart_nodes)
    names += sorted(n for n in parents if n.startswith(DELIVERY_PREFIX))
    register = load_purposes()
    outputs = []
    for name in names:
        purposes = served.get(name, ())
        upstream = ancestors(parents, name)
        sources = [landing[a] for a in sorted(upstream) if a in landing]
        out = Output(
            name=name, kind="delivery" if name.startswith(DELIVERY_PREFIX) else "mart",
            purposes=purposes,
            purpose_bases={p: register[p].legal_basis for p in purposes if p in register},
            datasets=[_source_dataset(ds) for ds in sources],
            recipient_kinds=recipient_kinds(purposes),
            exposure_recipients=_exposure_recipients(manifest, name, upstream),
            actual_recipients=actual_recipients(entries, purposes),
        )
        covered = [name] if out.kind == "mart" else sorted(upstream & set(mart_nodes))
        if out.kind == "delivery":
            out.delivers = tuple(covered)
        if traced is not None:
            out.fields = _traced_fields(traced, covered, landing)
        else:
            out.fields = _permitted_fields(sources, purposes)
        if out.kind == "delivery":
            out.fields += _reidentified_fields(sources, purposes)
        outputs.append(out)
    return ProvenanceReport(
        outputs=outputs, level=FIELD_LEVEL if traced is not None else MODEL_LEVEL,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        disclosure_log=str(disclosure_log) if disclosure_log and disclosure_log.exists()
        else None)


def _source_dataset(ds: DatasetManifest) -> SourceDataset:
    contract = load_contract(ds.source, ds.name)
    return SourceDataset(
        label=dataset_label(ds), table=landing_table(ds), controller=ds.controller,
        regime=ds.regime, legal_basis=ds.legal_basis, purposes=ds.purposes,
        contract_id=str(contract.document.get("id")), contract_version=contract.version,
        register_id=ds.processing_register_id, retention=ds.retention)


def _classification(ds: DatasetManifest | None, column: str, relation: str) -> str:
    if ds is None:
        # An intermediate, in whichever schema dbt built it (main on DuckDB, the
        # postgres target's schema on PostgreSQL).
        if relation.split(".")[-1].startswith("int_"):
            return "aggregate (declared crossing)"
        return "pseudonymous" if relation == DOMAIN_PSEUDONYMS else "reference"
    spec = next((f for f in ds.fields if f.name == column), None)
    if spec is not None:
        return spec.classification
    prop = next((p for p in load_contract(ds.source, ds.name).properties
                 if p["name"] == column), {})
    return prop.get("classification") or "operational"  # hub-added linkage columns


def _traced_fields(traced: Mapping[tuple[str, str], frozenset], covered: list[str],
                   landing: Mapping[str, DatasetManifest]) -> list[SourceField]:
    by_field: dict[tuple[str, str], set[str]] = {}
    for (mart, column), fields in traced.items():
        if mart in covered:
            for f in fields:
                by_field.setdefault((f.relation, f.column), set()).add(f"{mart}.{column}")
    out = []
    for (relation, column), columns in sorted(by_field.items()):
        ds = landing.get("landing/" + relation.removeprefix("landing."))
        spec = next((f for f in ds.fields if f.name == column), None) if ds else None
        out.append(SourceField(
            dataset=dataset_label(ds) if ds else relation, name=column,
            classification=_classification(ds, column, relation),
            purposes=spec.purposes if spec else (ds.purposes if ds else ()),
            columns=tuple(sorted(columns))))
    return out


def _permitted_fields(sources: list[DatasetManifest], purposes: tuple[str, ...]
                      ) -> list[SourceField]:
    return [SourceField(dataset=dataset_label(ds), name=f.name,
                        classification=f.classification, purposes=f.purposes)
            for ds in sources for f in ds.fields if set(f.purposes) & set(purposes)]


def _reidentified_fields(sources: list[DatasetManifest], purposes: tuple[str, ...]
                         ) -> list[SourceField]:
    # Identity leaves the vault only at delivery, and only the fields the purpose permits.
    register = load_purposes()
    wanted = {f for p in purposes if p in register for f in register[p].reidentification_fields}
    return [SourceField(dataset=dataset_label(ds), name=f"{name} (identity vault)",
                        classification="identifying", purposes=purposes,
                        columns=("re-identified at delivery",))
            for ds in sources if set(ds.purposes) & set(purposes)
            for name in sorted(wanted & set(ds.identity))]


def _exposure_recipients(manifest: Mapping[str, Any], name: str, upstream: set[str]
                         ) -> tuple[str, ...]:
    named = set()
    for exposure in (manifest.get("exposures") or {}).values():
        depends = {n.rsplit(".", 1)[-1] for n in exposure.get("depends_on", {}).get("nodes", [])}
        if name in depends or (name.startswith(DELIVERY_PREFIX) and depends & upstream):
            meta = exposure.get("meta") or (exposure.get("config") or {}).get("meta") or {}
            recipients = meta.get("recipients", [])
            named |= {recipients} if isinstance(recipients, str) else set(recipients)
    return tuple(sorted(named))
