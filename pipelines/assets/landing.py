"""Landing: one asset per dataset, pulling from its source and landing one batch.

Write-audit-publish: the asset writes a batch to landing (identities already split off
at the boundary); the contract check audits it and marks it passed or quarantined in
the batch ledger; staging models read passed batches only.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import (
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from ketenbrug import warehouse
from ketenbrug.audit.funding_separation import funding_stream_of_group
from ketenbrug.connectors import DatasetManifest, all_datasets
from ketenbrug.connectors.base import Stream
from ketenbrug.connectors.read_ahead import ReadAheadStream
from ketenbrug.contracts.odcs import load_contract
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.privacy.boundary import Boundary, IncomingRecord

# Records per chunk a pull is landed in: big enough that per-chunk costs (each vault
# write scans the vault for what it holds; a lookup of known versions) stay small, small
# enough that a pull of millions stays within a few hundred MB (20k made the vault's
# scans a third of landing at 1M clients; benchmarks/hub_end_to_end.py measures both).
LANDING_CHUNK_RECORDS = 50_000


def landing_key(manifest: DatasetManifest) -> AssetKey:
    """`landing/<slug>__<dataset>`: the same key dbt's source() resolves to."""
    return AssetKey(["landing", manifest.table])


def build_landing_asset(manifest: DatasetManifest) -> AssetsDefinition:
    contract = load_contract(manifest.source, manifest.name)

    @asset(
        key=landing_key(manifest), group_name=manifest.source, kinds={"duckdb", "python"},
        required_resource_keys={"hub", f"source_{manifest.source}"},
        # One pull at a time per source system (dagster.yaml: every pool holds one step),
        # several sources in parallel under the multiprocess or Celery executor.
        pool=f"source_{manifest.source}",
        description=(f"{manifest.name} pulled from {manifest.source} (permitted fields only), "
                     "identities split into the vault, landed as one batch."),
        metadata={
            "legal_basis": manifest.legal_basis, "purposes": ", ".join(manifest.purposes),
            "controller": manifest.controller, "retention": manifest.retention,
            "processing_register_id": manifest.processing_register_id,
            "contract": f"{contract.document['id']} v{contract.version}",
            "permitted_fields": ", ".join(manifest.field_names),
            "funding_stream": funding_stream_of_group(manifest.source) or "unknown",
        },
    )
    def _land(context) -> MaterializeResult:
        hub: HubStorage = context.resources.hub
        connector = getattr(context.resources, f"source_{manifest.source}").connector()
        db = hub.warehouse_target()  # a DuckDB file, or the production PostgreSQL
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        boundary = Boundary(hub.keyring(), hub.vault(), manifest.source, dataset=manifest)
        received_at = datetime.now(UTC).replace(tzinfo=None)
        batch_id = f"{manifest.table}-{received_at:%Y%m%dT%H%M%S}-{context.run_id[:8]}"
        identities_stored, agreements = 0, set()
        stream: Stream | ReadAheadStream | None = None
        # Page by page into one transaction: the hub holds one chunk of a pull, not all
        # of it, and a failure anywhere leaves no batch (the cursor stays where it was).
        try:
            with warehouse.connect(db) as con:
                warehouse.ensure_landing(con, manifest)
                since = warehouse.read_cursor(con, manifest)
                # A full pull is read ahead by a second process; an incremental one is a
                # day's changes, smaller than that process's start-up is worth.
                stream = (ReadAheadStream(connector, manifest.name, since)
                          if hub.read_ahead and since is None
                          else connector.stream(manifest.name, since))
                with warehouse.BatchWriter(con, manifest, batch_id=batch_id,
                                           received_at=received_at) as writer:
                    for chunk in stream.chunks(LANDING_CHUNK_RECORDS):
                        split = boundary.split(
                            [IncomingRecord(allowed.identity, {
                                **allowed.fields, "_missing_fields": allowed.missing_text}, raw)
                             for allowed, raw in chunk], has_identity=bool(manifest.identity))
                        writer.add(split.rows)
                        identities_stored += split.identities_stored
                        agreements |= {str(r["agreement_id"]) for r in split.rows
                                       if r.get("agreement_id")}
                    batch = writer.finish(
                        fields_dropped=sum(stream.dropped_fields.values()),
                        cursor=_next_cursor(since, stream.max_updated_at, started))
        finally:
            if isinstance(stream, ReadAheadStream):
                stream.close()
            connector.close()
        # Agreement ids are contract references, not personal data: the UI shows which
        # agreements a municipal-funded batch covers.
        covered = ({"agreement_ids": MetadataValue.json(sorted(agreements))}
                   if "agreement_id" in manifest.field_names else {})
        # Counts by field name only: values never reach Dagster's event log.
        return MaterializeResult(metadata={**covered,
            "batch_id": batch.batch_id, "incremental_since": since or "(full pull)",
            "pages": stream.pages, "records_received": batch.received,
            "records_landed": batch.landed, "records_unchanged": batch.unchanged,
            "records_rejected": batch.rejected,
            "identities_to_vault": identities_stored,
            "fields_dropped": MetadataValue.json(dict(sorted(stream.dropped_fields.items()))),
        })

    return _land


def _next_cursor(since: str | None, newest_seen: str | None, started: str) -> str | None:
    """Where the next pull starts: the newest change seen, but never past this pull's start.

    A record stamped in the future (a source clock or data error) must not push the
    cursor ahead of real time, or every change made until then would be skipped.
    """
    if newest_seen is None:
        return since
    return min(newest_seen, started)


LANDING_ASSETS = [build_landing_asset(m) for m in all_datasets()]
