"""The GDPR art. 30(1) record of processing activities, generated from the connector
manifests and the purposes register: one activity per purpose and one per dataset.

Nothing here is restated by hand except what neither document holds: who the data
subjects of each source are, what the classifications mean in art. 30 terms, and the
hub's security measures (art. 30(1)(g), art. 32).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ketenbrug.audit.graph import dataset_label
from ketenbrug.connectors.manifest import DatasetManifest, all_datasets
from ketenbrug.contracts.registers import load_purposes

# Art. 30(1)(c): the people a source's records are about.
DATA_SUBJECTS = {
    "probation": "probation clients (people under advice, supervision or community service)",
    "dji": "detainees",
    "wijkteam": "neighbourhood-team clients",
    "care": "care patients",
    # Agreements and hours between a municipality and a probation organisation.
    "municipal_orders": "none: contract and time-booking records, no natural persons",
}
# Art. 30(1)(c): the categories of personal data, from the manifests' classifications.
CATEGORIES = {
    "identifying": "identifying data (BSN, name, date of birth, address; held in the "
                   "identity vault only)",
    "criminal": "criminal-law data (GDPR art. 10)",
    "health": "health data (GDPR art. 9, special category)",
    "social": "social-domain data (housing, income, debts, ID, involvement)",
    "operational": "operational data (record keys, organisations, dates of registration)",
}
SPECIAL = {"criminal": "GDPR art. 10", "health": "GDPR art. 9"}
TRANSFERS = "none: no transfer to a third country or an international organisation"
SECURITY_MEASURES = (
    "pseudonymisation at the boundary: identity is split off before landing and replaced "
    "by a keyed pseudonym (AES-SIV synthetic IV), one pseudonym domain per recipient",
    "identity vault encrypted with AES-GCM, each value bound to pseudonym, field and source",
    "versioned master keys with rotation that keeps linkage history",
    "deliveries as sealed packages (Ed25519 signature, X25519+HKDF+AES-GCM encryption) for "
    "the one entitled recipient",
    "append-only, hash-chained disclosure log of every re-identification and delivery",
    "purpose-limited connectors (allow-listed fields only) and blocking data-contract, "
    "lineage and purpose-lineage checks",
)


@dataclass(frozen=True)
class Activity:
    kind: str  # "purpose" or "dataset"
    name: str
    register_ids: tuple[str, ...]
    controller: str
    purposes: tuple[str, ...]
    legal_basis: tuple[str, ...]
    data_subjects: tuple[str, ...]
    data_categories: tuple[str, ...]
    special_categories: tuple[str, ...]
    recipients: tuple[str, ...]
    transfers: str
    retention: str
    security_measures: tuple[str, ...]
    datasets: tuple[str, ...]


def _categories(datasets: list[DatasetManifest], purpose: str | None = None,
                identified: bool = True) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # `identified`: whether identity is processed for it at all (a dataset with an identity
    # map sends it to the vault; a purpose only when it may re-identify).
    found = {f.classification for ds in datasets for f in ds.fields
             if purpose is None or purpose in f.purposes}
    if identified and any(ds.identity for ds in datasets):
        found.add("identifying")
    ordered = [c for c in CATEGORIES if c in found]
    return (tuple(CATEGORIES[c] for c in ordered),
            tuple(f"{c} ({SPECIAL[c]})" for c in ordered if c in SPECIAL))


def _dataset_activity(ds: DatasetManifest) -> Activity:
    register = load_purposes()
    categories, special = _categories([ds])
    return Activity(
        kind="dataset", name=dataset_label(ds), register_ids=(ds.processing_register_id,),
        controller=ds.controller, purposes=ds.purposes, legal_basis=(ds.legal_basis,),
        data_subjects=(DATA_SUBJECTS.get(ds.source, "unknown: add to DATA_SUBJECTS"),),
        data_categories=categories, special_categories=special,
        recipients=tuple(sorted({k for p in ds.purposes if p in register
                                 for k in register[p].recipient_kinds})),
        transfers=TRANSFERS, retention=ds.retention, security_measures=SECURITY_MEASURES,
        datasets=(dataset_label(ds),))


def build_register() -> list[Activity]:
    """Return the record: one activity per purpose in the register, then one per dataset.

    A purpose no dataset serves (the privacy officer's own) is listed with the hub's
    audit artefacts as its only data. Refuses nothing.
    """
    datasets = all_datasets()
    activities = []
    for purpose in load_purposes().values():
        serving = [ds for ds in datasets if purpose.name in ds.purposes]
        categories, special = _categories(serving, purpose.name,
                                          bool(purpose.reidentification_fields))
        activities.append(Activity(
            kind="purpose", name=purpose.name,
            register_ids=tuple(ds.processing_register_id for ds in serving),
            controller=purpose.controller, purposes=(purpose.name,),
            legal_basis=(purpose.legal_basis,),
            data_subjects=tuple(dict.fromkeys(DATA_SUBJECTS[ds.source] for ds in serving))
            or ("data subjects of the hub's logs and reports (by pseudonym only)",),
            data_categories=categories or (CATEGORIES["operational"],),
            special_categories=special, recipients=purpose.recipient_kinds,
            transfers=TRANSFERS, retention=purpose.retention,
            security_measures=SECURITY_MEASURES,
            datasets=tuple(dataset_label(ds) for ds in serving)))
    return activities + [_dataset_activity(ds) for ds in datasets]


def register_json(activities: list[Activity]) -> str:
    """Return the record as a JSON document (`{"activities": [...]}`)."""
    return json.dumps({"record": "GDPR art. 30(1)",
                       "activities": [asdict(a) for a in activities]}, indent=2) + "\n"


def _md_cell(values: tuple[str, ...] | str) -> str:
    text = values if isinstance(values, str) else "; ".join(values) or "-"
    return text.replace("|", "\\|").replace("\n", " ")


def register_markdown(activities: list[Activity]) -> str:
    """Return the record as Markdown: one table per activity, purposes first."""
    lines = ["# Record of processing activities (GDPR art. 30(1))", "",
             "Generated from connectors/*/manifest.yaml and contracts/purposes.yaml.", ""]
    for title, kind in (("Per purpose", "purpose"), ("Per dataset", "dataset")):
        lines += [f"## {title}", ""]
        for a in (a for a in activities if a.kind == kind):
            lines += [f"### {a.name}", "", "| item | entry |", "|---|---|"]
            rows: list[tuple[str, tuple[str, ...] | str]] = [
                ("processing-register id", a.register_ids), ("controller", a.controller),
                ("purposes", a.purposes), ("legal basis", a.legal_basis),
                ("categories of data subjects", a.data_subjects),
                ("categories of personal data", a.data_categories),
                ("special categories", a.special_categories or "none"),
                ("recipients (kinds)", a.recipients),
                ("transfers to third countries", a.transfers),
                ("retention", a.retention), ("datasets", a.datasets),
                ("security measures", a.security_measures)]
            lines += [f"| {k} | {_md_cell(v)} |" for k, v in rows] + [""]
    return "\n".join(lines)
