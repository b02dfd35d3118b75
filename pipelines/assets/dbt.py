"""The dbt models as Dagster assets: staging per source, the client spine, the marts."""

import json
import os
from collections.abc import Mapping
from datetime import date
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from ketenbrug.failpoints import failpoint
from ketenbrug.pipelines.dbt_profile import dbt_profile_args
from ketenbrug.pipelines.dbt_project import KETENBRUG_DBT
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.project_files import ensure_dbt_manifest


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
def ketenbrug_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, hub: HubStorage):
    """Build (run + test) every selected dbt model against the hub's warehouse."""
    target = hub.dbt_target_dir()
    events = dbt.cli(["build", "--vars", json.dumps(dbt_vars(hub)), *dbt_profile_args(hub)],
                     context=context, target_path=target).stream()
    for count, event in enumerate(events, start=1):
        if count == 10:  # some models built, most not: where the crash suite kills dbt
            failpoint("dbt:build")
        yield event
