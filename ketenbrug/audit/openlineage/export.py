"""OpenLineage export of the Dagster instance's history: a START and a COMPLETE RunEvent
per asset materialisation (START and FAIL for an asset a failed run planned but did not
materialise), built with the openlineage-python client and written as JSON lines, so the
lineage can be loaded into Marquez or DataHub. No network transport.

One OpenLineage run per materialisation, its runId derived from the Dagster run, the asset
and the occurrence (so exporting twice gives the same ids), with the Dagster run as
parent. Job = `<Dagster job>.<asset>`; inputs = the asset's upstream assets in the graph;
output = the asset; datasets in `ketenbrug://warehouse` (tables), `ketenbrug://outbox`
(deliveries) or, as the input of a landing asset, `ketenbrug://source/<slug>`. Every event
carries the `ketenbrug_purpose` facet (ketenbrug/audit/openlineage/facet.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openlineage.client.constants import __version__ as OPENLINEAGE_VERSION
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.generated import (
    documentation_job,
    error_message_run,
    job_type_job,
    parent_run,
    processing_engine_run,
)
from openlineage.client.serde import Serde

from ketenbrug.audit.graph import (
    DELIVERY_PREFIX,
    Parents,
    asset_purposes,
    landing_datasets,
    recipient_kinds,
    traced_columns,
)
from ketenbrug.audit.openlineage.datasets import SOURCE_NS, dataset_name, table_facets
from ketenbrug.audit.openlineage.facet import (
    FACET_NAME,
    PRODUCER,
    KetenbrugPurposeDatasetFacet,
    KetenbrugPurposeRunFacet,
)
from ketenbrug.contracts.registers import load_purposes
from ketenbrug.privacy.disclosure_log import LogLocation, read_log

if TYPE_CHECKING:
    from dagster import DagsterEvent

NAMESPACE = "ketenbrug"
_RUN_IDS = uuid.UUID("6f1d0a52-6c1e-4c43-9a55-6b6574656e62")  # uuid5 namespace of the hub


@dataclass(frozen=True)
class Materialisation:
    """One asset materialisation (or planned-but-failed one) read from the instance."""

    dagster_run_id: str
    job_name: str
    asset: str  # asset key as user string
    step_key: str
    started_at: float  # the step's (or else the run's) start, epoch seconds
    ended_at: float
    failed: bool = False
    occurrence: int = 0  # n-th materialisation of this asset in this run


def read_materialisations(dagster_home: Path) -> list[Materialisation]:
    """Return every materialisation in the instance at `dagster_home`, oldest run first.

    Refuses (FileNotFoundError) a home without an instance. Also returns, as failed, each
    asset a failed run planned and did not materialise.
    """
    if not (Path(dagster_home) / "dagster.yaml").exists():
        raise FileNotFoundError(f"no Dagster instance at {dagster_home} (run `ketenbrug demo`)")
    from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

    wanted = {DagsterEventType.STEP_START, DagsterEventType.STEP_FAILURE,
              DagsterEventType.ASSET_MATERIALIZATION,
              DagsterEventType.ASSET_MATERIALIZATION_PLANNED}
    found: list[Materialisation] = []
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        for run in reversed(instance.get_runs()):
            stats = instance.get_run_stats(run.run_id)
            run_start = stats.start_time or 0.0
            # keyed by each entry's step_key, which Dagster types as optional
            step_start: dict[str | None, float] = {}
            step_failed: dict[str | None, float] = {}
            planned: dict[str, str] = {}
            done: dict[str, int] = {}
            for entry in instance.all_logs(run.run_id, of_type=wanted):
                event = entry.dagster_event
                assert event is not None  # of_type: only Dagster events come back
                kind = event.event_type
                if kind == DagsterEventType.STEP_START:
                    step_start[entry.step_key] = entry.timestamp
                elif kind == DagsterEventType.STEP_FAILURE:
                    step_failed[entry.step_key] = entry.timestamp
                elif kind == DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
                    planned[_asset(event)] = entry.step_key or ""
                else:
                    asset = _asset(event)
                    found.append(Materialisation(
                        run.run_id, run.job_name, asset, entry.step_key or "",
                        step_start.get(entry.step_key, run_start), entry.timestamp,
                        occurrence=done.get(asset, 0)))
                    done[asset] = done.get(asset, 0) + 1
            if run.status == DagsterRunStatus.FAILURE:
                end = stats.end_time or run_start
                found += [Materialisation(run.run_id, run.job_name, asset, step,
                                          step_start.get(step, run_start),
                                          step_failed.get(step, end), failed=True)
                          for asset, step in sorted(planned.items()) if asset not in done]
    return found


def _asset(event: DagsterEvent) -> str:
    # A materialisation, done or planned, always names its asset.
    if event.asset_key is None:
        raise ValueError(f"a {event.event_type_value} event without an asset key")
    return event.asset_key.to_user_string()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def build_events(materialisations: list[Materialisation], parents: Parents,
                 manifest: Mapping[str, Any], disclosure_log: LogLocation | None = None, *,
                 compiled: bool = False) -> Iterator[RunEvent]:
    """Yield START then COMPLETE (or FAIL) for each materialisation, in order.

    Actual recipients are the disclosure log's entries with the same Dagster run id and a
    purpose of the asset; only delivery assets disclose. With `compiled` (the manifest
    holds compiled SQL) mart outputs carry a column-lineage facet.
    """
    traced = traced_columns(manifest) if compiled else None
    from dagster import __version__ as dagster_version  # the engine that ran what is exported

    engine = processing_engine_run.ProcessingEngineRunFacet(
        version=dagster_version, name="Dagster", openlineageAdapterVersion=OPENLINEAGE_VERSION,
        producer=PRODUCER)
    served = asset_purposes(parents, manifest)
    landing = landing_datasets()
    register = load_purposes()
    disclosed: dict[tuple[str, str], set[str]] = {}
    for entry in read_log(disclosure_log) if disclosure_log else []:
        key = (str(entry.get("run_id")), str(entry.get("purpose")))
        disclosed.setdefault(key, set()).add(str(entry.get("recipient")))
    for mat in materialisations:
        purposes = list(served.get(mat.asset, ()))
        bases = sorted({register[p].legal_basis for p in purposes if p in register})
        kinds = list(recipient_kinds(purposes))
        actual = sorted({r for p in purposes for r in disclosed.get((mat.dagster_run_id, p), ())
                         if mat.asset.startswith(DELIVERY_PREFIX)})
        run_id = str(uuid.uuid5(_RUN_IDS, f"{mat.dagster_run_id}/{mat.asset}/{mat.occurrence}"))
        facets: dict[str, Any] = {
            FACET_NAME: KetenbrugPurposeRunFacet(
                purpose=purposes, legalBasis=bases, recipients=kinds,
                actualRecipients=actual, producer=PRODUCER),
            "parent": parent_run.ParentRunFacet(
                run=parent_run.Run(runId=mat.dagster_run_id),
                job=parent_run.Job(namespace=NAMESPACE, name=mat.job_name), producer=PRODUCER),
            "processing_engine": engine,
        }
        job = Job(namespace=NAMESPACE, name=f"{mat.job_name}.{mat.asset}", facets={
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="DAGSTER", jobType="ASSET",
                producer=PRODUCER),
            "documentation": documentation_job.DocumentationJobFacet(
                description=f"Dagster asset {mat.asset}, materialised by step "
                            f"{mat.step_key or '(unknown)'} of job {mat.job_name}",
                producer=PRODUCER)})
        namespace, name = dataset_name(mat.asset, manifest)
        output = OutputDataset(namespace=namespace, name=name, facets={
            FACET_NAME: KetenbrugPurposeDatasetFacet(
                purpose=purposes, legalBasis=bases, recipients=kinds, producer=PRODUCER),
            **table_facets(mat.asset, manifest, traced)})
        inputs = [InputDataset(*dataset_name(p, manifest)) for p in parents.get(mat.asset, ())]
        if mat.asset in landing:  # a landing asset reads its source system
            inputs.append(InputDataset(f"{SOURCE_NS}/{landing[mat.asset].source}",
                                       landing[mat.asset].name))
        yield RunEvent(eventType=RunState.START, eventTime=_iso(mat.started_at),
                       run=Run(runId=run_id, facets=facets), job=job, inputs=inputs,
                       outputs=[output], producer=PRODUCER)
        end_facets = dict(facets)
        if mat.failed:
            # The class of failure only: an error message could quote a value.
            end_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=f"step {mat.step_key} failed; {mat.asset} was not materialised",
                programmingLanguage="python", producer=PRODUCER)
        yield RunEvent(eventType=RunState.FAIL if mat.failed else RunState.COMPLETE,
                       eventTime=_iso(mat.ended_at), run=Run(runId=run_id, facets=end_facets),
                       job=job, inputs=inputs, outputs=[output], producer=PRODUCER)


def write_events(events: Iterator[RunEvent], path: Path) -> int:
    """Write each event as one JSON line (openlineage Serde) to `path`; return the count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for event in events:
            handle.write(Serde.to_json(event) + "\n")
            count += 1
    return count
