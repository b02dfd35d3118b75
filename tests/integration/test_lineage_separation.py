"""The billable (municipal-funded) lineage and the statutory one cross only where
contracts/lineages.yaml says they may: checked on the real dbt manifest and Dagster graph,
and shown to catch an undeclared edge in a copy of the dbt project, in the asset graph,
and in the manifest, and to run as a blocking check at run time.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    Definitions,
    ResourceDefinition,
    asset,
    materialize,
)
from dagster_dbt import DbtCliResource

from ketenbrug.audit.funding_separation import check_lineage, classify_dbt
from ketenbrug.contracts.registers import load_lineages
from ketenbrug.pipelines.assets.dbt import ketenbrug_dbt_models
from ketenbrug.pipelines.checks.lineage_separation import build_lineage_separation
from ketenbrug.pipelines.dbt_project import KETENBRUG_DBT
from ketenbrug.pipelines.definitions import defs
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.project_files import DBT_PROJECT_DIR as DBT_DIR
from ketenbrug.project_files import REFERENCE_DIR, ensure_dbt_manifest

DECLARED = {("int_municipal_hours_by_region_month", "statutory_priority_guard")}
MUNICIPAL = {"stg_municipal_orders__agreements", "stg_municipal_orders__bookings",
             "int_municipal_hours_by_region_month", "billing_statements"}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(ensure_dbt_manifest().read_text())


def _pairs(edges) -> set[tuple[str, str]]:
    return {(e.parent, e.child) for e in edges}


def test_the_real_project_crosses_only_where_declared(manifest):
    report = check_lineage(manifest, defs.resolve_asset_graph())
    assert report.ok, report.problems()
    assert _pairs(report.crossings_seen) == DECLARED  # in dbt and in Dagster alike
    assert {e.graph for e in report.crossings_seen} == {"dbt", "dagster"}
    assert report.unused_crossings == []
    assert {c.source for c in load_lineages().crossings} <= {n for n, _ in DECLARED}


def test_every_node_has_a_lineage_and_the_billable_one_is_what_it_should_be(manifest):
    placed = classify_dbt(manifest, load_lineages())
    names = {manifest["nodes"].get(u, manifest["sources"].get(u))["name"]: line
             for u, line in placed.items()}
    assert {n for n, line in names.items() if line == "municipal_funded"} >= MUNICIPAL
    assert names["client_profiles"] == names["volume_monitor"] == "statutory"
    assert names["statutory_priority_guard"] == "statutory"
    assert names["municipalities"] == names["_batches"] == "neutral"
    assert None not in placed.values()


def test_an_undeclared_ref_in_a_copy_of_the_dbt_project_is_named(tmp_path):
    from dbt.cli.main import dbtRunner

    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(REFERENCE_DIR, tmp_path / "reference")  # seed-paths: ../reference
    billing = project / "models" / "marts" / "municipal_funded" / "billing_statements.sql"
    # A ref in a comment still makes a dependency: exactly the slip the guard is for.
    billing.write_text(billing.read_text() + "\n-- {{ ref('client_profiles') }}\n")
    env = {"KETENBRUG_WAREHOUSE": str(tmp_path / "parse.duckdb"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        result = dbtRunner().invoke(["parse", "--project-dir", str(project), "--profiles-dir",
                                     str(project), "--quiet"])
    assert result.success, result.exception
    report = check_lineage(json.loads((project / "target" / "manifest.json").read_text()))
    assert not report.ok
    assert _pairs(report.undeclared) == {("client_profiles", "billing_statements")}
    [edge] = report.undeclared
    assert (edge.parent_lineage, edge.child_lineage) == ("statutory", "municipal_funded")


def test_an_undeclared_dependency_in_the_asset_graph_is_named(manifest):
    @asset(key=AssetKey(["delivery", "sneaky_billing_extract"]), group_name="municipal_funded",
           deps=[AssetKey(["client_profiles"])])
    def sneaky():
        """Would put statutory profiles in a municipality's billing."""

    unused = ResourceDefinition.none_resource()  # nothing runs; the graph is what is checked
    graph = Definitions(assets=[ketenbrug_dbt_models, sneaky],
                        resources={"dbt": unused, "hub": unused}).resolve_asset_graph()
    report = check_lineage(manifest, graph)
    assert [e.describe() for e in report.undeclared] == [
        "dagster: client_profiles (statutory) -> delivery/sneaky_billing_extract "
        "(municipal_funded)"]


def test_the_guard_fails_closed_on_unplaced_mislabelled_and_non_aggregate_nodes(manifest):
    broken = copy.deepcopy(manifest)
    nodes = broken["nodes"]
    # A mart in a folder no lineage claims.
    nodes["model.ketenbrug.volume_monitor"]["fqn"] = ["ketenbrug", "marts", "finance",
                                                      "volume_monitor"]
    # Billing saying it is statutory.
    nodes["model.ketenbrug.billing_statements"]["config"]["meta"]["funding_stream"] = "statutory"
    # The crossing starting to carry something that is not an aggregate.
    hours = nodes["model.ketenbrug.int_municipal_hours_by_region_month"]
    hours["columns"]["agreement_id"] = {"name": "agreement_id",
                                        "config": {"meta": {"classification": "operational"}}}
    report = check_lineage(broken)
    assert report.unclassified == ["dbt volume_monitor"]
    assert report.mislabelled == ["billing_statements says 'statutory', lives in municipal_funded"]
    assert len(report.not_aggregate) == 1 and "agreement_id" in report.not_aggregate[0]
    assert not report.ok


def test_a_declared_crossing_reversed_is_not_declared(manifest):
    reversed_edge = copy.deepcopy(manifest)
    parents = reversed_edge["parent_map"]
    parents["model.ketenbrug.int_municipal_hours_by_region_month"].append(
        "model.ketenbrug.int_statutory_backlog_by_region_month")
    report = check_lineage(reversed_edge)
    assert _pairs(report.undeclared) == {
        ("int_statutory_backlog_by_region_month", "int_municipal_hours_by_region_month")}


def test_the_run_time_check_passes_and_reports_the_crossing(tmp_path):
    lineage_separation = build_lineage_separation(defs.resolve_asset_graph)
    hub = HubStorage(warehouse_path=str(tmp_path / "warehouse.duckdb"),
                     vault_path=str(tmp_path / "vault.duckdb"), keys_dir=str(tmp_path / "keys"),
                     outbox_dir=str(tmp_path / "outbox"),
                     disclosure_log=str(tmp_path / "audit.jsonl"))
    dbt = DbtCliResource(project_dir=KETENBRUG_DBT,
                         dbt_executable=str(Path(sys.executable).parent / "dbt"))
    result = materialize([ketenbrug_dbt_models, lineage_separation],
                         selection=AssetSelection.checks(lineage_separation),
                         resources={"hub": hub, "dbt": dbt})
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.check_name == "lineage_separation"
    assert evaluation.metadata["declared_crossings_seen"].value == [
        "int_municipal_hours_by_region_month -> statutory_priority_guard"]
    assert all(spec.blocking for spec in lineage_separation.check_specs)
