"""The privacy officer in the portal: lineage, the disclosure log and its verdict, refused
accesses, a subject-access request answered without the BSN being kept, the register and
the retention plan - on a copy of a hub that ran the demo."""

from __future__ import annotations

import hashlib
import json
import re
import shutil

import pytest

from ketenbrug.config import Settings
from ketenbrug.contracts.registers import load_purposes
from ketenbrug.portal.app import create_app
from ketenbrug.privacy.bsn import is_valid_bsn
from ketenbrug.privacy.disclosure_log import read_log
from tests.portal_support import app_for, client_as, csrf_of, portal_users

pytestmark = pytest.mark.e2e

BSN_LIKE = re.compile(r"\b\d{9}\b")
ENTRIES = re.compile(r"<caption>(\d+) regel\(s\)")


def _copy(home, to):
    shutil.copytree(home, to, symlinks=True, ignore=shutil.ignore_patterns("dagster_home"))
    portal_users(to)
    return to


@pytest.fixture(scope="module")
def hub(demo_home, tmp_path_factory):
    """A copy of the demo's hub (subject access appends to its log) and its portal."""
    home = _copy(demo_home[0], tmp_path_factory.mktemp("privacy") / "hub")
    return home, app_for(home)


@pytest.fixture
def privacy(hub):
    home, app = hub
    return client_as(home, "privacy", app)


def test_lineage_lists_the_handover_and_who_received_it(privacy):
    page = privacy.get("/privacy/lineage")
    assert page.status_code == 200
    assert 'data-output="warm_handover"' in page.text
    assert 'data-output="delivery/warm_handover_packages"' in page.text
    assert re.search(r"municipality:GM\d{4}: \d+ persoon/personen in \d+ levering", page.text)
    assert '<img src="/privacy/lineage.svg"' in page.text
    svg = privacy.get("/privacy/lineage.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in svg.text and "warm_handover" in svg.text


def test_lineage_without_the_asset_graph_says_so(hub):
    home, _ = hub
    bare = client_as(home, "privacy", create_app(Settings.for_home(home)))
    assert bare.get("/privacy/lineage").status_code == 503


def test_the_disclosure_log_is_shown_newest_first_with_actors_and_its_verdict(privacy):
    page = privacy.get("/privacy/disclosures")
    assert page.status_code == 200
    assert "Het log is intact" in page.text
    assert "(pipeline_run, hub, via pipeline)" in page.text
    assert not BSN_LIKE.search(page.text)
    seqs = [int(s) for s in re.findall(r'<tr data-testid="entry">\s*<td>(\d+)</td>', page.text)]
    assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True)
    total = int(ENTRIES.search(page.text).group(1))
    narrowed = privacy.get("/privacy/disclosures", params={"event": "checkpoint"})
    shown = int(ENTRIES.search(narrowed.text).group(1))
    assert 0 < shown < total
    assert set(re.findall(r'<tr data-testid="entry">(?:\s*<td>[^<]*</td>){2}\s*<td>(\w+)</td>',
                          narrowed.text)) == {"checkpoint"}
    assert 'data-testid="next-page"' in page.text
    second = privacy.get("/privacy/disclosures", params={"page": 2})
    assert "pagina 2 van" in second.text


def test_the_log_is_filtered_by_purpose_dataset_and_date(hub, privacy):
    home, _ = hub
    entries = read_log(home / "audit" / "disclosures.jsonl")

    def count(**params) -> int:
        return int(ENTRIES.search(privacy.get("/privacy/disclosures", params=params).text
                                  ).group(1))

    everything = count()
    assert count(purpose="warm_handover") == sum(
        e.get("purpose") == "warm_handover" for e in entries) < everything
    assert count(dataset="care.episodes") == sum(
        "care.episodes" in (e.get("source_datasets") or []) for e in entries) > 0
    today = entries[-1]["at"][:10]
    assert count(since=today, until=today) == sum(e["at"][:10] == today for e in entries)
    assert count(until="2000-12-31") == 0
    # The pager keeps the selection.
    page = privacy.get("/privacy/disclosures", params={"purpose": "warm_handover"}).text
    if 'data-testid="next-page"' in page:
        assert "purpose=warm_handover" in re.search(r'href="([^"]+)" rel="next"', page)[1]


def test_a_tampered_log_shows_the_problem(demo_home, tmp_path):
    home = _copy(demo_home[0], tmp_path / "h")
    log = home / "audit" / "disclosures.jsonl"
    lines = log.read_text().splitlines()
    lines[2] = lines[2].replace('"persons": ', '"persons": 1', 1)
    log.write_text("\n".join(lines) + "\n")
    page = client_as(home, "privacy", app_for(home)).get("/privacy/disclosures")
    assert page.status_code == 200
    assert "Het log is niet intact" in page.text
    assert "line 3: entry content does not match" in page.text


def test_a_refused_access_is_listed_for_the_privacy_officer(hub, privacy):
    home, app = hub
    officer = client_as(home, "officer-rn", app)
    assert officer.get("/privacy/disclosures").status_code == 403
    refused = privacy.get("/privacy/disclosures").text.split("Geweigerde toegang", 1)[1]
    assert re.search(r"<td>officer-rn</td><td>probation_officer RN</td>"
                     r"<td>GET /privacy/disclosures</td><td>read the disclosure log</td>",
                     refused)


def test_subject_access_hands_over_the_report_and_keeps_only_its_hash(hub, privacy, world):
    home, _ = hub
    person = next(p for p in world.persons if is_valid_bsn(p["bsn"]))
    bsn = person["bsn"]
    form = privacy.get("/privacy/subject-access")
    answer = privacy.post("/privacy/subject-access", data={
        "csrf_token": csrf_of(form.text), "reference": "AVG 2026/017",
        "bsn": f"{bsn[:3]} {bsn[3:6]} {bsn[6:]}", "format": "json"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-disposition"] == \
        'attachment; filename="inzage-AVG_2026_017.json"'
    assert answer.headers["cache-control"] == "no-store"
    report = json.loads(answer.content)
    assert ("bsn", bsn) in {(h["field"], h["value"]) for h in report["identity_held"]}

    listed = privacy.get("/privacy/subject-access").text
    assert hashlib.sha256(answer.content).hexdigest() in listed
    assert "AVG 2026/017" in listed and bsn not in listed
    for kept in (home / "portal").iterdir():  # the database, its WAL and any other file
        assert bsn.encode() not in kept.read_bytes(), kept.name
    assert bsn not in (home / "audit" / "disclosures.jsonl").read_text()
    entry = [e for e in read_log(home / "audit" / "disclosures.jsonl")
             if e.get("event") == "subject_access"][-1]
    assert entry["actor"] == {"subject": "privacy", "role": "privacy_officer",
                              "organisation": "hub", "via": "portal-local"}
    assert (home / "keys" / "portal-sar.key").stat().st_mode & 0o777 == 0o600


def test_the_report_is_also_a_document_for_the_person_who_asked(hub, privacy, world):
    home, _ = hub
    person = next(p for p in world.persons if is_valid_bsn(p["bsn"]))
    token = csrf_of(privacy.get("/privacy/subject-access").text)
    document = privacy.post("/privacy/subject-access", data={
        "csrf_token": token, "reference": "AVG 2026/020", "bsn": person["bsn"],
        "format": "document"})
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("text/html")
    assert document.headers["content-disposition"] == \
        'attachment; filename="inzage-AVG_2026_020.html"'
    text = document.text
    assert person["surname"] in text and person["bsn"] in text
    assert "Verstrekkingen" in text and "AVG 2026/020" in text
    assert "<script" not in text and "http" not in text.split("<body>", 1)[1]
    listed = privacy.get("/privacy/subject-access").text
    assert hashlib.sha256(document.content).hexdigest() in listed
    assert person["surname"] not in listed


def test_an_invalid_bsn_is_refused_without_repeating_it(privacy):
    token = csrf_of(privacy.get("/privacy/subject-access").text)
    refused = privacy.post("/privacy/subject-access", data={
        "csrf_token": token, "reference": "AVG 2026/018", "bsn": "123456789"})
    assert refused.status_code == 422
    assert "geen geldig BSN" in refused.text and "123456789" not in refused.text
    assert "AVG 2026/018" in refused.text  # the reference stays in the form


def test_a_subject_access_request_without_csrf_is_refused(privacy):
    refused = privacy.post("/privacy/subject-access",
                           data={"reference": "AVG 2026/019", "bsn": "111222333"})
    assert refused.status_code == 403
    assert "AVG 2026/019" not in privacy.get("/privacy/subject-access").text


def test_the_register_shows_every_purpose(privacy):
    page = privacy.get("/privacy/register")
    assert page.status_code == 200
    for purpose in load_purposes():
        assert f"Doel: {purpose}</h2>" in page.text


def test_the_retention_plan_counts_what_would_go(privacy):
    today = privacy.get("/privacy/retention")
    assert today.status_code == 200 and 'data-testid="retention-plan"' in today.text
    assert "ketenbrug retention apply" in today.text
    later = privacy.get("/privacy/retention", params={"as_of": "2100-01-01"}).text
    assert re.search(r'data-testid="vault-persons">\d+ persoon', later)
    counts = [int(n) for n in re.findall(r'data-testid="records-removed">(\d+) ', later)]
    assert counts and sum(counts) > 0
    wrong = privacy.get("/privacy/retention", params={"as_of": "gisteren"})
    assert wrong.status_code == 200 and "geen datum" in wrong.text
