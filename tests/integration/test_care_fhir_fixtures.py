"""The care connector against a FHIR server answering as the R4 specification's examples do
(tests/fixtures/fhir, served over real HTTP): entries told apart by `search.mode`, a
relative `next` link, the BSN found through each kind of patient reference, a Patient read
once when not included, and errors read from an OperationOutcome — while names,
addresses, telecom, narrative and diagnoses never leave the connector."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient

from ketenbrug.connectors import HttpSettings, SourceError
from ketenbrug.connectors.care.client import CareConnector
from tests.fhir_server import TOKEN, FixtureFhirServer, fixture_text

# What the fixtures hold about people and care that the hub may never take.
PERSONAL = ("Verbruggen", "Sanne", "Zonneveld", "Kasper", "Brandsma", "Hoogeveen",
            "Maarten", "Kerkstraat", "Lindenlaan", "Molenweg", "9401AB", "06-555",
            "06-1928", "0591", "mail.example", "1988-02-03", "1991-04-17", "1979-09-30",
            "Oudshoorn", "Stoornis", "stressstoornis", "terugval", "consent")
BSNS = {"eoc-a": "425370495",  # included Patient/pat-1
        "eoc-b": "532432599",  # contained #p1
        "eoc-c": "475257364",  # logical identifier
        "eoc-d": "502083323",  # Patient/pat-4, not included: read
        "eoc-e": "502083323"}  # the same Patient, by its absolute URL: not read again


def _searchset(path: str, query: dict[str, list[str]]) -> tuple[int, str]:
    if path == "/fhir/EpisodeOfCare":
        return 200, "searchset-page2" if "_page_token" in query else "searchset-page1"
    if path == "/fhir/Patient/pat-4":
        return 200, "patient-pat-4"
    return 404, "outcome-invalid"


def _pull(server: FixtureFhirServer, since: str | None = None):
    connector = CareConnector(HttpSettings(server.base_url, TOKEN, max_retries=0,
                                           backoff_factor_s=0))
    try:
        return connector.pull("episodes", since)
    finally:
        connector.close()


@pytest.mark.parametrize("name", ["searchset-page1", "searchset-page2"])
def test_the_fixtures_are_valid_r4_bundles(name):
    bundle = Bundle.model_validate_json(fixture_text(name, "http://127.0.0.1:1"))
    assert bundle.type == "searchset"


def test_the_models_check_the_resources_inside_a_bundle_too():
    """Else validating the fixtures above would prove nothing about their entries."""
    page = json.loads(fixture_text("searchset-page1", "http://127.0.0.1:1"))
    page["entry"][3]["resource"]["birthDate"] = "the third of February"
    with pytest.raises(ValueError, match="birthDate"):
        Bundle.model_validate(page)
    Patient.model_validate_json(fixture_text("patient-pat-4", "http://127.0.0.1:1"))
    OperationOutcome.model_validate_json(fixture_text("outcome-invalid", "http://127.0.0.1:1"))


def test_every_episode_is_pulled_with_the_bsn_its_reference_leads_to():
    with FixtureFhirServer(_searchset) as server:
        extract = _pull(server)
    pulled = {allowed.fields["episode_id"]: allowed for allowed, _ in extract.records}
    assert {key: a.identity["bsn"] for key, a in pulled.items()} == BSNS
    assert pulled["eoc-a"].fields["category"] == "addiction"
    assert pulled["eoc-b"].fields["period_end"] == "2026-10-31"
    assert extract.pages == 2
    # The relative `next` link, resolved against the request URL (RFC 3986): the same
    # path with page 2's query; the Patient not included, read once for two episodes.
    assert server.requests == [
        "/fhir/EpisodeOfCare?_count=100&_include=EpisodeOfCare%3Apatient",
        "/fhir/EpisodeOfCare?_count=100&_include=EpisodeOfCare%3Apatient&_page_token=p2",
        "/fhir/Patient/pat-4"]


def test_nothing_personal_or_clinical_leaves_the_connector_but_the_bsn():
    with FixtureFhirServer(_searchset) as server:
        extract = _pull(server)
    for allowed, raw in extract.records:
        taken = json.dumps([allowed.fields, allowed.identity, raw["patient"]])
        assert not [word for word in PERSONAL if word in taken], taken
        assert "contained" not in raw  # the contained Patient stays behind
    dropped = set(extract.dropped_fields)
    assert {"text.div", "diagnosis[].condition.display", "careManager.display",
            "team[].display"} <= dropped  # offered, dropped, counted by name only


def test_incremental_pulls_ask_with_last_updated():
    with FixtureFhirServer(_searchset) as server:
        _pull(server, since="2026-11-29T00:00:00Z")
    assert server.requests[0] == ("/fhir/EpisodeOfCare?_count=100&_include=EpisodeOfCare"
                                  "%3Apatient&_lastUpdated=ge2026-11-29T00%3A00%3A00Z")


def test_an_operation_outcome_answer_is_a_clear_error_without_its_diagnostics():
    with (FixtureFhirServer(lambda path, query: (400, "outcome-invalid")) as server,
          pytest.raises(SourceError) as raised):
        _pull(server)
    message = str(raised.value)
    assert message == ("care: GET /fhir/EpisodeOfCare answered 400: OperationOutcome error "
                       "invalid (MSG_PARAM_INVALID) at EpisodeOfCare._lastUpdated")
    assert "Verbruggen" not in message


def test_an_error_in_an_outcome_entry_fails_the_page_and_a_warning_does_not():
    page = json.loads(fixture_text("searchset-page2", "{base}"))
    page["entry"][0]["resource"]["issue"][0]["severity"] = "error"
    with pytest.raises(SourceError, match=r"entry\[0\] is an OperationOutcome: error "
                                          r"informational$") as raised:
        _pull_page(page)
    assert "Hoogeveen" not in str(raised.value)


def test_a_patient_that_is_missing_is_a_clear_error():
    def route(path, query):
        return (404, "outcome-invalid") if path.startswith("/fhir/Patient/") else \
            _searchset(path, query)

    with FixtureFhirServer(route) as server, pytest.raises(SourceError) as raised:
        _pull(server)
    assert str(raised.value).startswith("care: GET /fhir/Patient/pat-4 answered 404: "
                                        "OperationOutcome error invalid")


@pytest.mark.parametrize(("reference", "message"), [
    ("http://elsewhere.example/fhir/Patient/pat-4",
     "episode 'eoc-d''s patient reference points outside the source"),
    ("Organization/org-1", "episode 'eoc-d''s patient reference is not to a Patient"),
    ("#nobody", "episode 'eoc-d''s patient reference names no contained resource"),
])
def test_a_patient_reference_that_leads_nowhere_it_may_go_is_refused(reference, message):
    page = json.loads(fixture_text("searchset-page2", "{base}"))
    page["entry"][1]["resource"]["patient"]["reference"] = reference
    with pytest.raises(SourceError) as raised:
        _pull_page(page)
    assert str(raised.value).endswith(message)


def _pull_page(page: dict):
    """Pull a search whose only page is `page`."""
    def route(path, query):
        return (200, "page") if path == "/fhir/EpisodeOfCare" else _searchset(path, query)

    with FixtureFhirServer(route, {"page": json.dumps(page)}) as server:
        return _pull(server)
