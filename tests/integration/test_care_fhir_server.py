"""The simulated care system is a conformant FHIR R4 server: every Bundle, Patient and
OperationOutcome it serves validates against fhir.resources' R4B models, `_include` works
(or, told so, is ignored as a server without support ignores it), links are absolute or
relative — and the care connector pulls every episode with its BSN in each of those ways."""

from __future__ import annotations

from collections import Counter
from datetime import date
from urllib.parse import urljoin

import pytest
import requests
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient

from ketenbrug.connectors import HttpSettings
from ketenbrug.connectors.care.client import CareConnector
from ketenbrug.simulators import WorldServer, generate_world
from ketenbrug.simulators.care import BSN_SYSTEM
from ketenbrug.simulators.care_app import FhirStyle

STYLES = [FhirStyle(), FhirStyle(links="relative"), FhirStyle(include=False),
          FhirStyle(links="relative", include=False)]
TIMEOUT = 5


@pytest.fixture(scope="module")
def world():
    return generate_world(clients=400, seed=16, today=date(2026, 11, 29))


def _served(world, style):
    return WorldServer(world, fhir_style=style)


def _walk(server, session) -> list[dict]:
    """Every page of the search, following `next` as a client must (RFC 3986)."""
    url = server.base_urls["care"] + "/fhir/EpisodeOfCare?_count=40&_include=EpisodeOfCare:patient"
    pages = []
    while url:
        answer = session.get(url, timeout=TIMEOUT)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/fhir+json"
        pages.append(answer.json())
        nexts = [link["url"] for link in pages[-1]["link"] if link["relation"] == "next"]
        url = urljoin(url, nexts[0]) if nexts else None
    return pages


def _session(server) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.credentials['care']}"
    return session


def _logical_bsns(world) -> dict[str, str]:
    return {e["id"]: e["patient"]["identifier"]["value"] for e in world.care_episodes}


@pytest.mark.parametrize("style", STYLES, ids=str)
def test_every_page_is_a_valid_r4_searchset_with_patients_as_asked(world, style):
    with _served(world, style) as server, _session(server) as session:
        pages = _walk(server, session)
    ways, matched = Counter(), 0
    for page in pages:
        Bundle.model_validate(page)  # the envelope and every resource in it
        included = {e["fullUrl"].rsplit("/fhir/", 1)[1] for e in page["entry"]
                    if e["search"]["mode"] == "include"}
        assert all(e["resource"]["resourceType"] == "Patient" for e in page["entry"]
                   if e["search"]["mode"] == "include")
        for entry in page["entry"]:
            if entry["search"]["mode"] != "match":
                continue
            matched += 1
            reference = entry["resource"]["patient"].get("reference", "identifier")
            ways[reference.split("/")[0]] += 1
            if reference.startswith("Patient/"):
                assert (reference in included) == style.include
        if style.links == "relative":
            assert all("://" not in link["url"] for link in page["link"])
    assert matched == len(world.care_episodes) and len(pages) > 2
    assert set(ways) == {"identifier", "#p", "Patient"}  # all three kinds of reference


def test_a_patient_read_and_every_error_answer_are_valid_r4(world):
    with _served(world, FhirStyle()) as server, _session(server) as session:
        base = server.base_urls["care"]
        first = _walk(server, session)[0]
        literal = next(e["resource"]["patient"]["reference"] for e in first["entry"]
                       if e["resource"]["patient"].get("reference", "").startswith("Patient/"))
        patient = Patient.model_validate(session.get(f"{base}/fhir/{literal}",
                                                     timeout=TIMEOUT).json())
        assert [i.system for i in patient.identifier][0] == BSN_SYSTEM
        assert patient.name and patient.address  # a real Patient: the connector must skip these
        errors = {
            400: session.get(f"{base}/fhir/EpisodeOfCare?_include=Patient:link", timeout=TIMEOUT),
            401: requests.get(f"{base}/fhir/EpisodeOfCare", timeout=TIMEOUT),
            403: requests.get(f"{base}/fhir/EpisodeOfCare", timeout=TIMEOUT,
                              headers={"Authorization": "Bearer wrong"}),
            404: session.get(f"{base}/fhir/Patient/pat-9999999", timeout=TIMEOUT),
        }
    for status, answer in errors.items():
        assert answer.status_code == status
        assert answer.headers["Content-Type"] == "application/fhir+json"
        outcome = OperationOutcome.model_validate(answer.json())
        assert outcome.issue[0].severity == "error"


@pytest.mark.parametrize("style", STYLES, ids=str)
def test_the_connector_pulls_every_episode_with_its_bsn_in_each_style(world, style):
    with _served(world, style) as server:
        connector = CareConnector(HttpSettings(server.base_urls["care"],
                                               server.credentials["care"]))
        asked: list[str] = []
        connector.session.hooks["response"].append(lambda r, *a, **k: asked.append(r.url))
        try:
            extract = connector.pull("episodes")
        finally:
            connector.close()
    pulled = {a.fields["episode_id"]: a.identity["bsn"] for a, _ in extract.records}
    assert pulled == _logical_bsns(world)
    reads = [url for url in asked if "/fhir/Patient/" in url]
    assert len(reads) == len(set(reads))  # each Patient read once at most
    assert bool(reads) != style.include  # included: never read; not included: read
    persons = {p["bsn"]: p for p in world.persons}
    for allowed, raw in extract.records:
        person = persons[allowed.identity["bsn"]]
        assert person["street"] not in str(raw) and person["birth_date"] not in str(raw)
