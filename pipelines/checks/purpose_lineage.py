"""Purpose-bound column lineage at run time: a blocking check on every mart, so nothing is
delivered from a mart with a column derived from a source field whose connector manifest
or ODCS contract does not permit the mart's purpose (ketenbrug/audit/column_purpose.py).
"""

import json
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)
from dagster_dbt import DbtCliResource

from ketenbrug.audit.column_purpose import MART_FOLDER, ColumnPurposeReport, check_purpose_lineage
from ketenbrug.pipelines.assets.dbt import dbt_vars
from ketenbrug.pipelines.dbt_profile import dbt_profile_args
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.project_files import ensure_dbt_manifest

CHECK_NAME = "purpose_lineage"
TRACES_FILE = "purpose_lineage_traces.json"  # sqlglot's traces, kept between runs


def mart_names(manifest_path: Path) -> list[str]:
    """Return the names of the models under models/marts/, each a Dagster asset key."""
    nodes = json.loads(manifest_path.read_text())["nodes"].values()
    return sorted(n["name"] for n in nodes
                  if n["resource_type"] == "model" and n["fqn"][1:2] == [MART_FOLDER])


def _compiled_manifest(hub: HubStorage, dbt: DbtCliResource) -> tuple[dict, Path]:
    # The manifest of this run's dbt build (pipelines/assets/dbt.py writes it beside the
    # warehouse) holds the SQL that ran. A build of a subset compiles only that subset,
    # so when any model lacks its SQL the whole project is compiled (no data is read).
    path = hub.dbt_target_dir() / "manifest.json"
    if path.exists():
        manifest = json.loads(path.read_text())
        if all(n.get("compiled_code") for n in manifest["nodes"].values()
               if n["resource_type"] == "model"):
            return manifest, path
    scratch = hub.files_dir() / "dbt_lineage_target"
    dbt.cli(["compile", "--vars", json.dumps(dbt_vars(hub)), *dbt_profile_args(hub)],
            target_path=scratch).wait()
    return json.loads((scratch / "manifest.json").read_text()), scratch / "manifest.json"


def _result(mart: str, report: ColumnPurposeReport, manifest: Path) -> AssetCheckResult:
    problems = report.problems(mart)
    lineage = {column: sorted(str(f) for f in fields)
               for (name, column), fields in report.columns.items() if name == mart}
    return AssetCheckResult(
        asset_key=AssetKey([mart]), check_name=CHECK_NAME, passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "manifest": str(manifest), "problems": MetadataValue.json(problems),
            "column_lineage": MetadataValue.json(lineage),
            "declared_crossings_used": MetadataValue.json(
                [c for c in report.crossed if c.startswith(f"{mart}.")]),
        })


MARTS = mart_names(ensure_dbt_manifest())


@multi_asset_check(
    specs=[AssetCheckSpec(CHECK_NAME, asset=AssetKey([mart]), blocking=True,
                          description=("Every column of the mart derives (compiled SQL, "
                                       "traced with sqlglot) only from source fields whose "
                                       "connector manifest and ODCS contract permit the "
                                       "column's meta purpose; nothing is left untraced."))
           for mart in MARTS],
    can_subset=True,
)
def purpose_lineage(context: AssetCheckExecutionContext, hub: HubStorage, dbt: DbtCliResource):
    """Trace the marts of this run's dbt build to their source fields and fail each mart
    with a column whose source field's purposes do not include the column's purpose."""
    compiled, manifest = _compiled_manifest(hub, dbt)
    report = check_purpose_lineage(compiled, traces=hub.dbt_target_dir() / TRACES_FILE)
    for problem in report.problems():
        context.log.error(problem)
    for check_key in context.selected_asset_check_keys:
        yield _result(check_key.asset_key.path[-1], report, manifest)
