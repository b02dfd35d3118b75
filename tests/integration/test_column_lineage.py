"""Purpose-bound column lineage: the real marts pass; a mart that takes an offence
description or a risk level for the warm handover fails, naming the field and purposes.

The project is compiled (no data needed) with dbtRunner into a temporary target; the
offending variants are a copy of the project with a few lines changed.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from ketenbrug.audit.column_purpose import SourceField, check_purpose_lineage
from ketenbrug.audit.trace_cache import TraceCache
from ketenbrug.project_files import DBT_PROJECT_DIR as DBT_DIR
from ketenbrug.project_files import REFERENCE_DIR


def _compile(project: Path, tmp: Path) -> dict:
    """Compile `project` and return its manifest (with every model's compiled SQL)."""
    from dbt.cli.main import dbtRunner

    with pytest.MonkeyPatch.context() as env:
        env.setenv("KETENBRUG_WAREHOUSE", str(tmp / "compile.duckdb"))
        env.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        result = dbtRunner().invoke([
            "compile", "--project-dir", str(project), "--profiles-dir", str(DBT_DIR),
            "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"),
            "--vars", json.dumps({"as_of_date": "2026-06-01"}), "--quiet",
        ])
    assert result.success, result.exception
    return json.loads((tmp / "target" / "manifest.json").read_text())


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1))


def _offending_project(tmp: Path) -> Path:
    """A copy of the project whose warm_handover selects an offence description (a landing
    column no manifest permits) and the RISc level (permitted for justice_profile only)."""
    project = tmp / "dbt_project"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    (tmp / "reference").symlink_to(REFERENCE_DIR)  # seed-paths: ../reference
    _replace(project / "models/staging/dji/_dji__sources.yml",
             "description: Detentions with the D&R plan",
             "columns:\n          - name: offence_description\n"
             "        description: Detentions with the D&R plan")
    _replace(project / "models/staging/dji/stg_dji__detentions.sql",
             "cast(prison_code as varchar) as prison_code,",
             "cast(prison_code as varchar) as prison_code,\n"
             "        cast(offence_description as varchar) as offence_description,")
    mart = project / "models/marts/handover/warm_handover.sql"
    _replace(mart, "involvements as (",
             "offences as (\n    select person_pseudonym, max(offence_description) as "
             "offence_description\n    from {{ ref('stg_dji__detentions') }}\n"
             "    group by person_pseudonym\n),\n\n"
             "risks as (\n    select person_pseudonym, max(risc_level) as risc_level\n"
             "    from {{ ref('stg_probation__clients') }}\n    group by person_pseudonym\n),\n\n"
             "involvements as (")
    _replace(mart, "cast(has_wijkteam_involvement as boolean) as has_wijkteam_involvement\n",
             "cast(has_wijkteam_involvement as boolean) as has_wijkteam_involvement,\n"
             "        cast(offence_description as varchar) as offence_description,\n"
             "        cast(risc_level as varchar) as risc_level\n")
    _replace(mart, "local_involvements.person_pseudonym is not null as has_wijkteam_involvement\n",
             "local_involvements.person_pseudonym is not null as has_wijkteam_involvement,\n"
             "        offences.offence_description,\n        risks.risc_level\n")
    _replace(mart, "    left join local_involvements\n",
             "    left join offences\n"
             "        on events_in_window.person_pseudonym = offences.person_pseudonym\n"
             "    left join risks\n"
             "        on events_in_window.person_pseudonym = risks.person_pseudonym\n"
             "    left join local_involvements\n")
    columns = "".join(
        f"      - name: {name}\n        data_type: varchar\n        config:\n"
        f"          meta: {{purpose: warm_handover, classification: criminal}}\n"
        for name in ("offence_description", "risc_level"))
    handover = project / "models/marts/handover/warm_handover.yml"
    _replace(handover, "\nunit_tests:", columns + "\nunit_tests:")
    # And a health-derived yes/no labelled as merely social.
    _replace(handover, "meta: {purpose: warm_handover, classification: health}",
             "meta: {purpose: warm_handover, classification: social}")
    return project


@pytest.fixture(scope="module")
def real_manifest(tmp_path_factory):
    return _compile(DBT_DIR, tmp_path_factory.mktemp("real"))


@pytest.fixture(scope="module")
def real_report(real_manifest):
    return check_purpose_lineage(real_manifest)


@pytest.fixture(scope="module")
def offending_manifest(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("offending")
    return _compile(_offending_project(tmp), tmp)


@pytest.fixture(scope="module")
def offending_report(offending_manifest):
    return check_purpose_lineage(offending_manifest)


def _run_check(manifest: dict, home: Path) -> dict[str, tuple[bool, list]]:
    """Run the blocking Dagster check `purpose_lineage` as if `manifest` were this run's
    dbt build; return mart -> (passed, problems)."""
    from dagster import AssetSelection, materialize
    from dagster_dbt import DbtCliResource

    from ketenbrug.pipelines.checks.purpose_lineage import purpose_lineage
    from ketenbrug.pipelines.resources import HubStorage

    (home / "dbt_target").mkdir(parents=True)
    (home / "dbt_target" / "manifest.json").write_text(json.dumps(manifest))
    hub = HubStorage(warehouse_path=str(home / "warehouse.duckdb"), vault_path=str(home / "v"),
                     keys_dir=str(home / "k"), outbox_dir=str(home / "o"),
                     disclosure_log=str(home / "d"))
    dbt = DbtCliResource(project_dir=str(DBT_DIR),
                         dbt_executable=str(Path(sys.executable).parent / "dbt"))
    with pytest.MonkeyPatch.context() as env:  # the check points dbt at the warehouse
        env.setenv("KETENBRUG_WAREHOUSE", str(home / "warehouse.duckdb"))
        env.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        result = materialize([purpose_lineage], resources={"hub": hub, "dbt": dbt},
                             selection=AssetSelection.checks(purpose_lineage),
                             raise_on_error=False)
    return {e.asset_key.to_user_string(): (e.passed, e.metadata["problems"].data)
            for e in result.get_asset_check_evaluations()}


def test_every_mart_column_of_the_project_is_permitted_and_traced(real_report):
    assert real_report.ok, real_report.problems()
    marts = {mart for mart, _ in real_report.columns}
    assert {"client_profiles", "warm_handover", "volume_monitor", "billing_statements",
            "statutory_priority_guard"} <= marts


def test_lineage_reaches_the_landed_fields(real_report):
    lineage = real_report.columns
    assert SourceField("landing.dji__detentions", "expected_release_date") in lineage[
        ("warm_handover", "expected_date")]
    assert SourceField("landing.probation__orders", "end_date") in lineage[
        ("warm_handover", "expected_date")]
    assert SourceField("landing.probation__clients", "risc_level") in lineage[
        ("client_profiles", "risc_level")]
    assert not any(f.column == "risc_level" for (mart, _), fields in lineage.items()
                   if mart == "warm_handover" for f in fields)


def test_the_declared_aggregate_crossing_is_accepted_visibly(real_report):
    assert any(line.startswith("statutory_priority_guard.municipal_hours_booked <- ")
               for line in real_report.crossed)
    assert not any(line.startswith("billing_statements.") for line in real_report.crossed)


def test_an_offence_description_in_warm_handover_fails_naming_the_field(offending_report):
    assert not offending_report.ok
    offences = [v for v in offending_report.violations
                if v.source_field == SourceField("landing.dji__detentions",
                                                 "offence_description")]
    assert [(v.mart, v.column, v.permitted) for v in offences] == [
        ("warm_handover", "offence_description", ())]
    assert "not in its connector manifest" in offences[0].describe()


def test_a_risk_level_in_warm_handover_fails_naming_the_purposes(offending_report):
    risks = [v for v in offending_report.violations if v.column == "risc_level"]
    assert [(v.mart, v.purpose, str(v.source_field), v.permitted) for v in risks] == [
        ("warm_handover", "warm_handover", "landing.probation__clients.risc_level",
         ("justice_profile",))]
    assert ("warm_handover.risc_level (purpose warm_handover) derives from "
            "landing.probation__clients.risc_level, permitted for justice_profile"
            ) in offending_report.problems("warm_handover")
    assert offending_report.problems("client_profiles") == []


def test_the_dagster_check_blocks_only_the_offending_mart(offending_manifest, tmp_path):
    outcome = _run_check(offending_manifest, tmp_path)
    assert outcome["warm_handover"][0] is False
    assert any("landing.dji__detentions.offence_description" in line
               for line in outcome["warm_handover"][1])
    assert outcome["client_profiles"] == (True, [])


def test_the_dagster_check_compiles_what_a_partial_build_left_out(real_manifest, tmp_path):
    partial = json.loads(json.dumps(real_manifest))
    partial["nodes"]["model.ketenbrug.stg_dji__detentions"]["compiled_code"] = None
    outcome = _run_check(partial, tmp_path)
    assert set(outcome) >= {"warm_handover", "client_profiles", "volume_monitor"}
    assert all(passed for passed, _ in outcome.values()), outcome


def test_a_health_derived_column_labelled_social_is_misclassified(offending_report):
    assert any(line.startswith("warm_handover.needs_care_handover is classified 'social' "
                               "but derives from health field landing.care__episodes.")
               for line in offending_report.misclassified), offending_report.misclassified


def _manifest(code: str | None, reads: str) -> dict:
    source = {"resource_type": "source", "name": "t", "identifier": "t", "schema": "landing",
              "database": "db", "source_name": "landing", "columns": {}, "fqn": []}
    mart = {"resource_type": "model", "name": "m", "alias": "m", "schema": "main",
            "database": "db", "fqn": ["ketenbrug", "marts", "x", "m"], "compiled_code": code,
            "depends_on": {"nodes": [reads]},
            "columns": {"a": {"config": {"meta": {"purpose": "steering"}}}}}
    return {"metadata": {"adapter_type": "duckdb"}, "nodes": {"model.k.m": mart},
            "sources": {"source.k.landing.t": source}}


@pytest.mark.parametrize("code, expected", [
    (None, "no compiled SQL"),
    ('select a from "db"."landing"."t"', "could not trace"),  # columns unknown
    ('select x.a from "db"."main"."elsewhere" as x', "could not trace"),
])
def test_what_cannot_be_traced_fails_instead_of_passing(code, expected):
    report = check_purpose_lineage(_manifest(code, "source.k.landing.t"))
    assert not report.ok
    assert any(expected in line for line in report.problems("m")), report.problems()


def test_traces_kept_between_runs_judge_as_fresh_ones_and_a_changed_model_is_traced_anew(
        real_manifest, real_report, offending_manifest, offending_report, tmp_path):
    traces = tmp_path / "target" / "traces.json"
    assert check_purpose_lineage(real_manifest, traces=traces) == real_report
    assert check_purpose_lineage(real_manifest, traces=traces) == real_report  # from the file
    # The offending project's changed models are traced afresh: the guard still fails them.
    from_file = check_purpose_lineage(offending_manifest, traces=traces)
    assert from_file == offending_report and not from_file.ok


def test_a_trace_is_kept_for_its_own_sql_only_and_a_damaged_file_is_traced_anew(tmp_path):
    calls = []

    def tracer(code: str, schema_json: str, dialect: str):
        calls.append(code)
        return {"id": frozenset({("db", "landing", "t", code)})}, ()

    path = tmp_path / "traces.json"
    first = TraceCache(path, tracer)
    assert first.trace("a", "{}", "duckdb") == ({"id": frozenset({("db", "landing", "t", "a")})},
                                                ())
    first.save()
    again = TraceCache(path, tracer)
    assert again.trace("a", "{}", "duckdb") == first.trace("a", "{}", "duckdb")
    assert calls == ["a"] and again.hits == 1 and first.hits == 1
    again.trace("a", '{"db": {}}', "duckdb")  # another schema seen: another trace
    again.trace("a", "{}", "postgres")
    assert calls == ["a", "a", "a"]
    again.save()
    assert len(json.loads(path.read_text())) == 3

    path.write_text('{"truncated')
    TraceCache(path, tracer).trace("a", "{}", "duckdb")
    assert len(calls) == 4
