"""The privacy officer's reports (`ketenbrug audit ...`) over a real small demo run and a
little use of it: what they name and count, what they never contain, and that the
OpenLineage export validates.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from ketenbrug.audit.openlineage.facet import FACET_NAME
from ketenbrug.audit.provenance import MODEL_LEVEL, Output, ProvenanceReport, build_lineage
from ketenbrug.audit.provenance_html import render_html
from ketenbrug.cli.audit import audit
from ketenbrug.connectors.manifest import all_datasets
from ketenbrug.contracts.odcs import load_contract
from ketenbrug.privacy.disclosure_log import read_log
from ketenbrug.simulators import generate_world
from tests.openlineage_spec import problems, require_spec

CLIENTS, SEED = 150, 777
_HUB_VARS = ("KETENBRUG_WAREHOUSE", "KETENBRUG_VAULT", "KETENBRUG_KEYS_DIR", "DAGSTER_HOME",
             "KETENBRUG_OUTBOX", "KETENBRUG_DISCLOSURE_LOG", "KETENBRUG_DELIVERY_URL")
_SVG = "{http://www.w3.org/2000/svg}"
WARM_SOURCES = ("dji.detentions", "probation.clients", "probation.orders",
                "wijkteam.involvements", "care.episodes")


def _python(home: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in _HUB_VARS}
    env["KETENBRUG_HOME"] = str(home)
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _cli(home: Path, *args: str) -> str:
    return _python(home, "-m", "ketenbrug.cli", *args)


# A read that finds nobody (an organisation without clients; `profiles show` now refuses
# --limit 0, older hubs did not): logged as the hub logs every read.
_READ_NOBODY = ("from ketenbrug.config import Settings; "
                "from ketenbrug.delivery.profile_reads import read_profiles; "
                "assert read_profiles(Settings.from_env(), 'LJR', limit=0) == []")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A hub home after one real `ketenbrug demo` (Dagster run, HTTP sources, dbt build),
    then used: RN reads its profiles (20) and one client twice, LJR's only read finds
    nobody, and every package and statement is delivered twice more."""
    home = tmp_path_factory.mktemp("audit_hub")
    _cli(home, "demo", "--clients", str(CLIENTS), "--seed", str(SEED))
    rows = [json.loads(line) for line in _cli(home, "profiles", "show", "--org", "RN")
            .splitlines()]
    for _ in range(2):
        _cli(home, "profiles", "show", "--org", "RN", "--client", rows[0]["client_pseudonym"])
    _python(home, "-c", _READ_NOBODY)
    for _ in range(2):
        _cli(home, "demo", "--clients", str(CLIENTS), "--seed", str(SEED), "--redeliver")
    return home


def _audit(home: Path, *args: str) -> str:
    env = dict.fromkeys(_HUB_VARS)  # None unsets: only the home decides
    env["KETENBRUG_HOME"] = str(home)
    result = CliRunner().invoke(audit, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def lineage_html(home) -> str:
    printed = [Path(line) for line in _audit(home, "lineage").strip().splitlines()[-2:]]
    assert printed == [home / "reports" / "lineage.html", home / "reports" / "lineage.svg"]
    return printed[0].read_text(encoding="utf-8")


def _section(html: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', html, re.S)
    assert match, f"no section {anchor}"
    return match.group(1)


def test_lineage_names_sources_bases_contracts_and_recipients_of_warm_handover(
        home, lineage_html):
    section = _section(lineage_html, "out-warm-handover")
    for label in WARM_SOURCES:
        assert label in section
        source, dataset = label.split(".")
        contract = load_contract(source, dataset)
        assert f"<td>{contract.document['id']}</td><td>{contract.version}</td>" in section
    assert "Pm art. 20d" in section and "warm_handover" in section
    assert "<td>municipality</td>" in section  # entitled kind, from the purposes register
    assert "field level" in lineage_html  # the compiled SQL of the run was traced
    assert "settlement_municipality_code" in section and "criminal" in section
    assert "risc_level" not in section  # justice_profile only: never in the handover
    received = {e["recipient"] for e in read_log(home / "audit" / "disclosures.jsonl")
                if e.get("purpose") == "warm_handover"}
    assert received
    for recipient in received:
        assert recipient in section
    delivery = _section(lineage_html, "out-delivery-warm-handover-packages")
    assert "bsn (identity vault)" in delivery and "identifying" in delivery


def test_lineage_report_never_holds_an_identity(home, lineage_html):
    recorded = json.loads((home / "world.json").read_text())
    world = generate_world(clients=CLIENTS, seed=SEED,
                           today=date.fromisoformat(recorded["today"]))
    for person in world.persons:
        assert person["bsn"] not in lineage_html
        assert f"{person['given_name']} {person['surname']}" not in lineage_html
        assert not re.search(rf"\b{re.escape(person['surname'])}\b", lineage_html)


def test_register_lists_every_dataset_with_basis_retention_and_special_categories(home):
    record = json.loads(_audit(home, "register", "--format", "json"))
    by_name = {a["name"]: a for a in record["activities"] if a["kind"] == "dataset"}
    markdown = _audit(home, "register")
    for ds in all_datasets():
        entry = by_name[f"{ds.source}.{ds.name}"]
        assert entry["legal_basis"] == [ds.legal_basis] and entry["retention"] == ds.retention
        assert entry["register_ids"] == [ds.processing_register_id]
        assert f"### {ds.source}.{ds.name}" in markdown and ds.processing_register_id in markdown
        assert entry["transfers"].startswith("none")
    assert by_name["dji.detentions"]["special_categories"] == ["criminal (GDPR art. 10)"]
    assert by_name["care.episodes"]["special_categories"] == ["health (GDPR art. 9)"]
    assert by_name["wijkteam.involvements"]["special_categories"] == []
    assert "detainees" in by_name["dji.detentions"]["data_subjects"]
    purposes = {a["name"]: a for a in record["activities"] if a["kind"] == "purpose"}
    assert "Pm art. 20d" in purposes["warm_handover"]["legal_basis"][0]
    assert purposes["warm_handover"]["recipients"] == ["municipality"]


def _materialisations_in_instance(dagster_home: Path) -> int:
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        return sum(len(instance.all_logs(run.run_id,
                                         of_type=DagsterEventType.ASSET_MATERIALIZATION))
                   for run in instance.get_runs())


def _schema_file_and_definition(url: str) -> str:
    document, _, definition = url.partition("#")
    return f"{document.rsplit('/', 1)[1]}#{definition}"


def test_openlineage_events_validate_and_carry_the_purpose_facet(home):
    require_spec()
    out = home / "reports" / "ol.jsonl"
    _audit(home, "openlineage", "--out", str(out))
    events = [json.loads(line) for line in out.read_text().splitlines()]
    for event in events:  # the core schema, each standard facet's, and the hub's own
        assert problems(event) == [], (event["job"]["name"], event["eventType"])
        assert FACET_NAME in event["run"]["facets"]
        assert all(FACET_NAME in output["facets"] for output in event["outputs"])
    used = {_schema_file_and_definition(facet["_schemaURL"]) for event in events
            for facet in [*event["run"]["facets"].values(), *event["job"]["facets"].values(),
                          *(f for o in event["outputs"] for f in o["facets"].values())]}
    assert {"ParentRunFacet.json#/$defs/ParentRunFacet",
            "ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
            "SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
            "KetenbrugPurposeFacet.json#/$defs/KetenbrugPurposeRunFacet"} <= used
    completes = [e for e in events if e["eventType"] == "COMPLETE"]
    starts = {e["run"]["runId"] for e in events if e["eventType"] == "START"}
    assert len(completes) == _materialisations_in_instance(home / "dagster_home") > 0
    assert {e["run"]["runId"] for e in completes} <= starts
    handover = [e for e in completes if e["job"]["name"].endswith("warm_handover_packages")]
    assert handover, "the delivery's materialisation is exported"
    facet = handover[0]["run"]["facets"][FACET_NAME]
    assert facet["purpose"] == ["warm_handover"] and "Pm art. 20d" in facet["legalBasis"][0]
    logged = {e["recipient"] for e in read_log(home / "audit" / "disclosures.jsonl")
              if e.get("purpose") == "warm_handover"
              and e["run_id"] == handover[0]["run"]["facets"]["parent"]["run"]["runId"]}
    assert set(facet["actualRecipients"]) == logged and logged
    names = {(i["namespace"], i["name"]) for i in handover[0]["inputs"]}
    assert ("ketenbrug://warehouse", "main.warm_handover") in names
    mart = next(e for e in completes if e["job"]["name"] == "hub.warm_handover")
    facets = mart["outputs"][0]["facets"]
    assert {"field": "settlement_municipality_code", "name": "landing.dji__detentions",
            "namespace": "ketenbrug://warehouse", "transformations": []} in \
        facets["columnLineage"]["fields"]["municipality_code"]["inputFields"]
    assert {f["name"] for f in facets["schema"]["fields"]} >= {"handover_id", "event_type"}


def test_report_escapes_what_it_renders():
    report = ProvenanceReport(outputs=[Output(name="<script>x</script>", kind="mart",
                                           purposes=("a&b",), purpose_bases={"a&b": "<b>"})],
                           level=MODEL_LEVEL, generated_at="now", disclosure_log=None)
    html = render_html(report)
    assert "<script>" not in html and "&lt;script&gt;" in html and "a&amp;b" in html
    assert "http" not in html.split("<body>", 1)[1]  # no external asset, not even a link


def test_without_compiled_sql_the_report_falls_back_to_model_level():
    parents = {"landing/dji__detentions": (), "warm_handover": ("landing/dji__detentions",)}
    manifest = {"nodes": {"model.k.warm_handover": {
        "name": "warm_handover", "resource_type": "model", "fqn": ["k", "marts", "warm_handover"],
        "columns": {"handover_id": {"meta": {"purpose": "warm_handover"}}}}}, "exposures": {}}
    report = build_lineage(parents, manifest, compiled=False)
    assert report.level == MODEL_LEVEL and "model level" in render_html(report)
    fields = {f.name for f in report.outputs[0].fields}
    assert "expected_release_date" in fields and "registration_number" in fields


def test_a_failed_materialisation_gives_start_and_fail_and_bad_events_are_refused():
    from openlineage.client.serde import Serde

    from ketenbrug.audit.openlineage.export import Materialisation, build_events

    parents = {"landing/dji__detentions": ()}
    failed = Materialisation("8d7f6c38-0c3e-4d7e-9d77-2f9b1f0f4e11", "hub",
                             "landing/dji__detentions", "landing__dji__detentions",
                             1_795_933_709.0, 1_795_933_712.5, failed=True)
    events = [json.loads(Serde.to_json(e))
              for e in build_events([failed], parents, {"nodes": {}})]
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    assert events[1]["run"]["facets"]["errorMessage"]["programmingLanguage"] == "python"
    assert ("ketenbrug://source/dji", "detentions") in {
        (i["namespace"], i["name"]) for i in events[0]["inputs"]}
    require_spec()
    assert [problems(e) for e in events] == [[], []]
    assert events[1]["run"]["facets"][FACET_NAME]["purpose"] == [
        "justice_profile", "steering", "warm_handover"]


@pytest.mark.parametrize(("breakage", "problem"), [
    (lambda e: e["run"].pop("runId"), "event.run: 'runId' is a required property"),
    (lambda e: e.update(eventType="DONE"), "event.eventType: 'DONE' is not one of"),
    (lambda e: e.update(eventTime="yesterday"),
     "event.eventTime: 'yesterday' is not a 'date-time'"),
    (lambda e: e["run"]["facets"]["parent"]["run"].update(runId="run 7"),
     "run.facets.parent.run.runId: 'run 7' is not a 'uuid'"),
    (lambda e: e["run"]["facets"]["errorMessage"].pop("message"),
     "run.facets.errorMessage: 'message' is a required property"),
    (lambda e: e["run"]["facets"][FACET_NAME].pop("legalBasis"),
     f"run.facets.{FACET_NAME}: 'legalBasis' is a required property"),
    (lambda e: e["run"]["facets"]["parent"].update(
        _schemaURL="https://openlineage.io/spec/facets/9-9-9/ParentRunFacet.json"),
     "run.facets.parent: _schemaURL 'https://openlineage.io/spec/facets/9-9-9/"
     "ParentRunFacet.json' names no schema held"),
])
def test_an_event_the_spec_refuses_is_named_by_what_is_wrong(breakage, problem):
    """The validation can fail, on the core schema, a standard facet and the hub's own."""
    from openlineage.client.serde import Serde

    from ketenbrug.audit.openlineage.export import Materialisation, build_events

    failed = Materialisation("8d7f6c38-0c3e-4d7e-9d77-2f9b1f0f4e11", "hub",
                             "landing/dji__detentions", "landing__dji__detentions",
                             1_795_933_709.0, 1_795_933_712.5, failed=True)
    event = json.loads(Serde.to_json(list(build_events(
        [failed], {"landing/dji__detentions": ()}, {"nodes": {}}))[1]))
    require_spec()
    breakage(event)
    assert any(p.startswith(problem) for p in problems(event)), problems(event)


def _by_output(summary: dict) -> dict[str, dict[str, dict]]:
    return {o["name"]: {r["recipient"]: r for r in o["recipients"]} for o in summary["outputs"]}


def test_lineage_counts_each_recipients_distinct_persons_beside_its_deliveries(home):
    summary = json.loads(_audit(home, "lineage", "--json"))
    assert Path(summary["html"]).is_file() and Path(summary["svg"]).is_file()
    received = _by_output(summary)
    log = read_log(home / "audit" / "disclosures.jsonl")
    reads = [e["persons"] for e in log if e.get("event") == "profile_read"
             and e["recipient"] == "probation_organisation:RN"]
    assert sorted(reads) == [1, 1, 20]  # one client read twice, among the 20 read first
    rn = received["client_profiles"]["probation_organisation:RN"]
    assert (rn["persons"], rn["deliveries"], rn["persons_without_references"]) == (20, 3, 0)
    # LJR's only read returned nobody: it received nothing, so it is no recipient.
    assert "probation_organisation:LJR" not in received["client_profiles"]
    handovers: dict[str, list[dict]] = {}
    for entry in log:
        if entry.get("event") == "delivery" and entry.get("purpose") == "warm_handover":
            handovers.setdefault(entry["recipient"], []).append(entry)
    assert set(received["delivery/warm_handover_packages"]) == set(handovers)
    for recipient, entries in handovers.items():
        got = received["delivery/warm_handover_packages"][recipient]
        assert got["deliveries"] == len(entries) == 3, recipient  # demo, twice --redeliver
        # The world did not change between the runs: the same persons thrice, once each
        # (`persons` of an entry counts handover rows; one person may have two).
        persons = {frozenset(e["subject_refs"]) for e in entries}
        assert len(persons) == 1 and got["persons"] == len(persons.pop()) > 0, recipient
        assert got["persons"] < sum(e["persons"] for e in entries), recipient
    html = (home / "reports" / "lineage.html").read_text(encoding="utf-8")
    profiles = _section(html, "out-client-profiles")
    assert "<td>probation_organisation:RN</td><td>20</td><td>3</td>" in profiles
    assert "probation_organisation:LJR" not in profiles


def test_lineage_diagram_draws_every_source_mart_recipient_and_link(home, lineage_html):
    summary = json.loads(_audit(home, "lineage", "--json"))
    svg = ET.parse(summary["svg"]).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    nodes = {(g.get("data-kind", ""), g.get("data-name", "")) for g in svg.iter(f"{_SVG}g")
             if g.get("class") == "node"}
    edges = {(g.get("data-from", ""), g.get("data-to", "")): g for g in svg.iter(f"{_SVG}g")
             if g.get("class") == "edge"}
    expected: set[tuple[str, str]] = set()
    outputs = {o["name"]: o for o in summary["outputs"]}
    for out in outputs.values():
        marts = [out["name"]] if out["kind"] == "mart" else out["delivers"]
        for label in out["sources"]:
            slug = label.split(".")[0]
            assert {("source", slug), ("dataset", label)} <= nodes
            expected.add((f"source:{slug}", f"dataset:{label}"))
            expected |= {(f"dataset:{label}", f"mart:{m}") for m in marts}
        for recipient in out["recipients"]:
            assert ("recipient", recipient["recipient"]) in nodes
            if out["kind"] == "mart":
                expected.add((f"mart:{out['name']}", f"recipient:{recipient['recipient']}"))
            else:  # hung from the mart it delivers
                assert any((f"mart:{m}", f"recipient:{recipient['recipient']}") in edges
                           for m in marts)
    assert {("mart", m) for m, o in outputs.items() if o["kind"] == "mart"} <= nodes
    assert set(edges) == expected
    for edge in edges.values():  # every link says what it rests on
        assert edge.findtext(f"{_SVG}text", "").strip() and edge.findtext(f"{_SVG}title")
    handover = [e.findtext(f"{_SVG}title", "") for (a, b), e in edges.items()
                if a == "mart:warm_handover" and b.startswith("recipient:")]
    assert handover and all("Pm art. 20d" in t and "via delivery/warm_handover_packages" in t
                            for t in handover)
    assert "<svg " in lineage_html and 'data-name="warm_handover"' in lineage_html


def _opened_package_rows(home: Path, entry: dict) -> list[dict]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from ketenbrug.privacy import open_package
    from ketenbrug.privacy.sealing import load_private_key

    code = entry["recipient"].split(":")[1]
    hub = Ed25519PublicKey.from_public_bytes((home / "keys" / "hub-signing.pub").read_bytes())
    package = open_package(Path(entry["channel"]).read_bytes(), recipient_id=code,
                           recipient_key=load_private_key(home / "keys" / "recipients"
                                                          / f"{code}.key"), hub_key=hub)
    return list(csv.DictReader(io.StringIO(package.files["warm_handover.csv"].decode())))


def test_subject_report_holds_no_reference_to_the_persons_disclosed_with_them(home):
    log_path = home / "audit" / "disclosures.jsonl"
    shared = next(e for e in reversed(read_log(log_path)) if e.get("event") == "delivery"
                  and e.get("purpose") == "warm_handover" and len(set(e["subject_refs"])) > 1)
    rows = _opened_package_rows(home, shared)
    subject, other = rows[0], next(r for r in rows if r["bsn"] != rows[0]["bsn"])
    bsn = subject["bsn"]
    report = json.loads(_audit(home, "subject", "--bsn", f"{bsn[:3]} {bsn[3:6]} {bsn[6:]}"))
    assert {"field": "bsn", "value": bsn} in [
        {"field": i["field"], "value": i["value"]} for i in report["identity_held"]]
    told = [d for d in report["disclosures"] if d["event"] == "delivery"
            and d["recipient"] == shared["recipient"]]
    assert len(told) == 3 and told[-1]["package"] == shared["package"]
    assert told[-1]["persons"] == shared["persons"]  # how many: fine; who: never
    log = read_log(log_path)
    own = set(next(e for e in reversed(log) if e.get("event") == "subject_access")
              ["subject_refs"])
    others = {r for e in log for r in e.get("subject_refs", [])} - own
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        pseudonyms = con.execute("select person_pseudonym, domain_pseudonym "
                                 "from privacy.domain_pseudonyms").fetchall()
    mine = set(report["pseudonyms"]) | {
        r["domain_pseudonym"] for r in report["records"]["privacy.domain_pseudonyms"]}
    others |= {p for row in pseudonyms for p in row} - mine
    text = json.dumps(report)
    assert others and not [r for r in others if r in text]
    assert other["bsn"] not in text and other["person_ref"] not in text


@pytest.mark.parametrize(("typed", "says"), [
    ("12345", "is not 9 digits (it has 5)"),
    ("123456789", "fails the eleven-test"),
    ("123-456-782", "only the digits 0-9"),
])
def test_subject_refuses_a_mistyped_bsn_saying_what_is_wrong(home, typed, says):
    env = dict.fromkeys(_HUB_VARS)
    env["KETENBRUG_HOME"] = str(home)
    result = CliRunner().invoke(audit, ["subject", "--bsn", typed], env=env)
    assert result.exit_code == 1 and says in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_lineage_refuses_an_out_path_the_diagram_would_overwrite(home, tmp_path):
    env = dict.fromkeys(_HUB_VARS)
    env["KETENBRUG_HOME"] = str(home)
    out = tmp_path / "report.svg"
    result = CliRunner().invoke(audit, ["lineage", "--out", str(out)], env=env)
    assert result.exit_code == 1 and "give the HTML report another suffix" in result.output
    assert not out.exists()
