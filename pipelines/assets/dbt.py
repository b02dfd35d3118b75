"""The dbt models as Dagster assets: staging per source, the client spine, the marts."""

import json
import os
from collections.abc import Mapping
from datetime import date
from graphlib import TopologicalSorter
from typing import Any

from dagster import AssetExecutionContext, AssetKey, MaterializeResult
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from ketenbrug.failpoints import failpoint
from ketenbrug.pipelines.assets.run_options import DbtBuildConfig
from ketenbrug.pipelines.dbt_profile import dbt_profile_args
from ketenbrug.pipelines.dbt_project import KETENBRUG_DBT
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.project_files import dbt_project_digest, ensure_dbt_manifest
from ketenbrug.warehouse.builds import (
    LastBuild,
    forget_build,
    inputs_fingerprint,
    record_build,
    unchanged_since,
)
from ketenbrug.warehouse.connection import connect


class KetenbrugTranslator(DagsterDbtTranslator):
    """Groups follow the rooms: staging under its source slug, marts under their purpose,
    an intermediate folder under its name (the rest of intermediate is the spine)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props.get("resource_type") == "seed":
            return "reference"
        if len(fqn) > 2 and fqn[1] in ("staging", "marts"):
            return fqn[2]
        if len(fqn) > 3 and fqn[1] == "intermediate":
            return fqn[2]  # intermediate/municipal_funded stays in its own lineage's group
        if len(fqn) > 1 and fqn[1] == "intermediate":
            return "spine"
        return super().get_group_name(dbt_resource_props)

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        """dagster-dbt's metadata plus the model's funding stream (dbt meta), for the UI."""
        metadata = dict(super().get_metadata(dbt_resource_props))
        meta = (dbt_resource_props.get("config") or {}).get("meta") or {}
        if "funding_stream" in meta:
            metadata["funding_stream"] = meta["funding_stream"]
        return metadata


def dbt_vars(hub: HubStorage | None = None) -> dict[str, str]:
    """Run-time vars: the date the hub acts as of (the world's date in the demo)."""
    if hub is not None:
        return {"as_of_date": hub.acts_as_of()}
    return {"as_of_date": os.environ.get("KETENBRUG_AS_OF_DATE") or date.today().isoformat()}


@dbt_assets(manifest=ensure_dbt_manifest(), project=KETENBRUG_DBT,
            dagster_dbt_translator=KetenbrugTranslator())
def ketenbrug_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, hub: HubStorage,
                         config: DbtBuildConfig):
    """Build (run + test) every selected dbt model against the hub's warehouse; when every
    model is selected and its inputs are as at the last build, build nothing
    (ketenbrug/warehouse/builds.py)."""
    run_vars, profile = dbt_vars(hub), dbt_profile_args(hub)
    whole = context.selected_asset_keys == context.assets_def.keys
    fingerprint, last = _inputs_at_start(hub, run_vars, profile, check=whole and not config.rebuild)
    if last is not None:
        context.log.info(f"dbt: every input is as at the build of run {last.run_id}; "
                         "no model rebuilt (run config rebuild: true builds anyway)")
        for key in _upstream_first(context):
            yield MaterializeResult(asset_key=key, metadata={
                "rebuilt": False, "inputs_as_at_run": last.run_id})
        return
    events = dbt.cli(["build", "--vars", json.dumps(run_vars), *profile],
                     context=context, target_path=hub.dbt_target_dir()).stream()
    for count, event in enumerate(events, start=1):
        if count == 10:  # some models built, most not: where the crash suite kills dbt
            failpoint("dbt:build")
        yield event
    if whole:  # dbt raised above if any model or test failed
        with connect(hub.warehouse_target()) as con:
            record_build(con, fingerprint, context.run_id)


def _upstream_first(context: AssetExecutionContext) -> list[AssetKey]:
    """The selected models and seeds, each after those it reads (as Dagster requires)."""
    selected = context.selected_asset_keys
    deps = context.assets_def.asset_deps
    graph = {key: {dep for dep in deps.get(key, ()) if dep in selected} for key in selected}
    return list(TopologicalSorter(graph).static_order())


def _inputs_at_start(hub: HubStorage, run_vars: dict, profile: list[str], *, check: bool
                     ) -> tuple[str, LastBuild | None]:
    """The build's inputs fingerprint, and the last build, when `check` and it read the
    same; otherwise the last build is forgotten, since this one changes the marts."""
    manifest = json.loads(ensure_dbt_manifest().read_text())
    schema = hub.dbt_schema if hub.warehouse_url else "main"
    with connect(hub.warehouse_target()) as con:
        fingerprint = inputs_fingerprint(con, manifest, project_digest=dbt_project_digest(),
                                         run_vars=run_vars, profile=[*profile, schema])
        last = unchanged_since(con, manifest, fingerprint, schema=schema) if check else None
        if last is None:
            forget_build(con)
    return fingerprint, last
