"""The published interfaces of the four non-FHIR sources (simulators/openapi/*.yaml, API.md):
each simulated system serves its document, conforms to it (explicit pages and errors, and
requests schemathesis generates from the document), the connectors work against the
document's own examples, and a changed answer fails the check, so this test can fail."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml
from hypothesis import HealthCheck, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from ketenbrug.connectors import HttpSettings
from ketenbrug.connectors.dji.client import DjiConnector
from ketenbrug.connectors.municipal_orders.client import MunicipalOrdersConnector
from ketenbrug.connectors.probation.client import ProbationConnector
from ketenbrug.connectors.wijkteam.client import WijkteamConnector
from ketenbrug.simulators import WorldServer, generate_world
from ketenbrug.simulators.openapi import SERVED_AT, SOURCES, document, document_text
from tests.openapi_contract import (
    CONFORMANCE,
    conform,
    loaded,
    openapi_31_errors,
    operation,
    pointer,
    request_problems,
    requested_fields_conformance,
    validator_at,
)
from tests.openapi_example_server import CREDENTIAL, ExampleServer, example

CHECKOUT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 29)
SINCE = "2026-11-20T00:00:00Z"
TIMEOUT = (2, 10)
# The listing operations, with a path that has records in the world below.
LISTINGS = [
    ("probation", "/tenants/{org}/clients", {"org": "RN"}),
    ("probation", "/tenants/{org}/orders", {"org": "RN"}),
    ("dji", "/api/v1/detentions", {}),
    ("wijkteam", "/municipalities/{code}/involvements", {"code": None}),  # the busiest one
    ("municipal_orders", "/agreements", {}),
    ("municipal_orders", "/bookings", {}),
]
# Generated requests per source and mode: about 25 s for all four sources on two cores.
GENERATED_EXAMPLES = 150


@pytest.fixture(scope="module")
def server():
    with WorldServer(generate_world(clients=200, seed=5, today=TODAY)) as running:
        yield running


@pytest.fixture(scope="module")
def http():
    with requests.Session() as session:
        yield session


def _auth(server: WorldServer, source: str, credential: str | None = None) -> dict[str, str]:
    credential = server.credentials[source] if credential is None else credential
    if source == "wijkteam":
        return {"X-API-Key": credential}
    return {"Authorization": f"Bearer {credential}"}


def _get(http: requests.Session, server: WorldServer, source: str, path: str,
         params: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
    headers = _auth(server, source) if headers is None else headers
    return http.get(server.base_urls[source] + path, params=params, headers=headers,
                    timeout=TIMEOUT)


def _path_parameters(server: WorldServer, params: dict[str, Any]) -> dict[str, Any]:
    """The listing's path parameters; wijkteam's municipality is the one with most records."""
    if params.get("code", "") is None:
        counts: dict[str, int] = {}
        for record in server.world.involvements:
            code = record["municipality_code"]
            counts[code] = counts.get(code, 0) + 1
        return {"code": max(counts, key=lambda c: (counts[c], c))}
    return params


# (a) The documents: served as kept in the repository, and valid OpenAPI 3.1.

@pytest.mark.parametrize("source", SOURCES)
def test_each_system_serves_its_document_as_kept_in_the_repository(server, http, source):
    answer = http.get(server.base_urls[source] + SERVED_AT, timeout=TIMEOUT)  # no credentials
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    kept = (CHECKOUT / "simulators" / "openapi" / f"{source}.yaml").read_text(encoding="utf-8")
    # Found as package data of the installed name, the same file.
    packaged = resources.files("ketenbrug.simulators.openapi") / f"{source}.yaml"
    assert packaged.read_text(encoding="utf-8") == kept == document_text(source)
    assert answer.json() == yaml.safe_load(kept)
    # Nothing YAML reads beyond JSON (an unquoted date would become a datetime).
    assert json.loads(json.dumps(yaml.safe_load(kept))) == yaml.safe_load(kept)


def test_care_publishes_no_document_of_its_own(server, http):
    """FHIR R4 is the care source's contract; /openapi.json is an unknown path there."""
    answer = _get(http, server, "care", SERVED_AT)
    assert answer.status_code == 404
    assert answer.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("source", SOURCES)
def test_each_document_is_valid_openapi_31(source):
    doc = document(source)
    assert doc["openapi"] == "3.1.0"
    assert openapi_31_errors(doc) == []
    schema = loaded(source)
    assert [r.ok().label for r in schema.get_all_operations()]  # every $ref resolves


def test_the_validity_check_finds_a_broken_document():
    doc = document("dji")
    del doc["info"]["version"]
    health = doc["paths"]["/health"]["get"]["responses"]["200"]["content"]["application/json"]
    health["schema"] = {"type": "text"}
    errors = openapi_31_errors(doc)
    assert any("'version' is a required property" in e for e in errors)
    assert any(e.startswith("/paths/~1health/") for e in errors)


@pytest.mark.parametrize("source", SOURCES)
def test_every_example_in_a_document_keeps_its_own_schema(source):
    doc = document(source)
    checked = 0
    for template, item in doc["paths"].items():
        for parameter in item["get"].get("parameters", []):
            if "example" in parameter:
                validator_at(doc, pointer("paths", template, "get", "parameters",
                                          str(item["get"]["parameters"].index(parameter)),
                                          "schema")).validate(parameter["example"])
                checked += 1
        for status, answer in item["get"]["responses"].items():
            where = ("paths", template, "get", "responses", status)
            if "$ref" in answer:
                where = ("components", "responses", answer["$ref"].split("/")[-1])
                answer = doc["components"]["responses"][where[-1]]
            media = answer.get("content", {}).get("application/json", {})
            for name, given_example in media.get("examples", {}).items():
                schema = validator_at(doc, pointer(*where, "content", "application/json",
                                                   "schema"))
                assert not list(schema.iter_errors(given_example["value"])), (template, name)
                checked += 1
    assert checked >= 10


# (b) The simulator conforms: pages, errors, injected throttling and failures.

@pytest.mark.parametrize(("source", "template", "params"), LISTINGS)
def test_first_middle_last_and_incremental_pages_conform(server, http, source, template, params):
    op = operation(loaded(source), template)
    path_parameters = _path_parameters(server, params)
    path = template.format(**path_parameters)
    offsets = source == "dji"

    def page(query: dict[str, Any]) -> dict[str, Any]:
        answer = _get(http, server, source, path, query)
        conform(op, answer, path_parameters=path_parameters, query=query,
                extra=(requested_fields_conformance,))
        return answer.json()

    total = page({"limit": 1} if offsets else {"page_size": 1})["total"]
    assert total >= 3, "the world must give this listing three pages"
    size = total // 3
    last = -(-total // size)
    if offsets:
        queries = [{"offset": 0, "limit": size}, {"offset": size, "limit": size},
                   {"offset": (last - 1) * size, "limit": size}, {"offset": total, "limit": size},
                   {"updated_since": SINCE}]
        bodies = [page(q) for q in queries]
        assert [len(b["items"]) for b in bodies[:2]] == [size, size] and bodies[3]["items"] == []
    else:
        queries = [{"page": 1, "page_size": size}, {"page": 2, "page_size": size},
                   {"page": last, "page_size": size}, {"page": last + 1, "page_size": size},
                   {"updated_since": SINCE}]
        bodies = [page(q) for q in queries]
        assert [b["has_more"] for b in bodies[:4]] == [True, True, False, False]
    assert 0 < bodies[4]["total"] < total  # the incremental filter held some back
    if "fields" in op.query:
        asked = "client_id,updated_at" if template.endswith("clients") else "order_id,status"
        assert set(page({"fields": asked, "updated_since": SINCE})["data"][0]) == set(
            asked.split(","))


def test_the_municipality_listing_conforms(server, http):
    op = operation(loaded("wijkteam"), "/municipalities")
    answer = _get(http, server, "wijkteam", "/municipalities")
    conform(op, answer)
    assert len(answer.json()["data"]) == 342


def _error_cases(source: str, template: str) -> list[tuple[str, Any, int]]:
    """(label, query, status) of the refused requests every listing must answer as
    documented."""
    size, first = ("limit", "offset") if source == "dji" else ("page_size", "page")
    cases = [
        ("too large a page", {size: 1001}, 400),
        ("first below its bound", {first: -1 if source == "dji" else 0}, 400),
        ("not an integer", {first: "one"}, 400),
        ("unknown parameter", {"since": SINCE}, 400),
        ("repeated parameter", [(size, 5), (size, 6)], 400),
        ("not a timestamp", {"updated_since": "yesterday"}, 400),
    ]
    if source == "probation":
        cases += [("unknown field", {"fields": "client_id,shoe_size"}, 400),
                  ("empty field list", {"fields": ""}, 400)]
    return cases


@pytest.mark.parametrize(("source", "template", "params"),
                         [listing for listing in LISTINGS if not listing[1].endswith("orders")])
def test_refused_requests_get_the_documented_error_answers(server, http, source, template,
                                                           params):
    op = operation(loaded(source), template)
    path_parameters = _path_parameters(server, params)
    path = template.format(**path_parameters)
    for label, query, status in _error_cases(source, template):
        answer = _get(http, server, source, path, query)
        assert answer.status_code == status, label
        conform(op, answer, path_parameters=path_parameters)
    for headers, status in (({}, 401), (_auth(server, source, "not-the-key"), 403)):
        answer = _get(http, server, source, path, headers=headers)
        assert answer.status_code == status
        conform(op, answer, path_parameters=path_parameters)
    if path_parameters:
        unknown = {name: "GM9999" if name == "code" else "XYZ" for name in path_parameters}
        answer = _get(http, server, source, template.format(**unknown))
        assert answer.status_code == 404
        conform(op, answer, path_parameters=unknown)


@pytest.mark.parametrize("source", SOURCES)
def test_an_unknown_path_gets_the_documented_not_found_answer(server, http, source):
    answer = _get(http, server, source, "/no/such/path")
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/json"
    validator_at(document(source), "/components/schemas/Error").validate(answer.json())


@pytest.mark.parametrize("fault", ["429=0", "500", "503"])
@pytest.mark.parametrize("source", SOURCES)
def test_injected_throttling_and_failures_get_documented_answers(server, http, source, fault):
    listing = next(entry for entry in LISTINGS if entry[0] == source)
    op = operation(loaded(source), listing[1])
    path_parameters = _path_parameters(server, listing[2])
    server.set_faults(f"{source}:{fault}")
    try:
        answer = _get(http, server, source, listing[1].format(**path_parameters))
        health = http.get(server.base_urls[source] + "/health", timeout=TIMEOUT)
    finally:
        server.set_faults("")
    assert answer.status_code == int(fault[:3])
    if fault.startswith("429"):
        assert answer.headers["Retry-After"] == "0"
    conform(op, answer, path_parameters=path_parameters, server_error=answer.status_code >= 500)
    assert health.status_code == 200 and health.json() == {"status": "ok"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("source", SOURCES)
def test_generated_requests_get_documented_answers(server, http, source, mode):
    """Schemathesis makes requests from the document: those that keep it must be answered
    as documented (and not refused), those that break it must be refused (4xx)."""
    schema = loaded(source)
    base_url = server.base_urls[source]
    if mode is GenerationMode.POSITIVE:
        checks = [*CONFORMANCE, openapi_checks.positive_data_acceptance,
                  requested_fields_conformance]
    else:
        checks = [*CONFORMANCE, openapi_checks.negative_data_rejection]
    strategy = schema.as_strategy(generation_mode=mode, headers=_auth(server, source))

    @settings(max_examples=GENERATED_EXAMPLES, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def answered_as_documented(case: Any) -> None:
        answer = case.call(base_url=base_url, session=http, timeout=TIMEOUT)
        case.validate_response(answer, checks=checks)

    answered_as_documented()


# What the generated requests found the simulator more lenient about than its documents
# (simulators/paging.py took any ISO 8601 form, overflowed at the calendar's edge into a
# 500, and stripped blanks around field names), pinned down.

@pytest.mark.parametrize("since", ["2026-11-20", "2026-11-20T00:00:00", "2026-W47-5"])
def test_updated_since_refuses_what_is_no_date_time(server, http, since):
    answer = _get(http, server, "dji", "/api/v1/detentions", {"updated_since": since})
    assert answer.status_code == 400


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_updated_since_at_the_calendars_edge_gets_an_answer(server, http, since):
    answer = _get(http, server, "dji", "/api/v1/detentions", {"updated_since": since})
    assert answer.status_code == 400
    assert answer.json() == {"error": "updated_since in UTC falls outside the years 1-9999"}


def test_fields_refuses_a_name_with_blanks(server, http):
    answer = _get(http, server, "probation", "/tenants/RN/clients", {"fields": " bsn"})
    assert answer.status_code == 400


# (c) The connectors against the documents' own examples.

def _page_of(query: dict[str, list[str]], key: str, first: str) -> str:
    """`first_page` or `last_page`, by the page or offset asked."""
    return "first_page" if query.get(key, [first])[0] == first else "last_page"


def _probation_route(path: str, query: dict[str, list[str]]) -> tuple[str, int, str]:
    _, _, org, entity = path.split("/")
    template = f"/tenants/{{org}}/{entity}"
    return template, 200, _page_of(query, "page", "1") if org == "RN" else "empty"


def _dji_route(path: str, query: dict[str, list[str]]) -> tuple[str, int, str]:
    return "/api/v1/detentions", 200, _page_of(query, "offset", "0")


def _wijkteam_route(path: str, query: dict[str, list[str]]) -> tuple[str, int, str]:
    if path == "/municipalities":
        return path, 200, "two"
    template = "/municipalities/{code}/involvements"
    return template, 200, _page_of(query, "page", "1") if "GM0363" in path else "empty"


def _municipal_route(path: str, query: dict[str, list[str]]) -> tuple[str, int, str]:
    return path, 200, _page_of(query, "page", "1")


EXAMPLE_PULLS = [
    # source, connector, route, dataset, template with the examples, pages, never landed
    ("probation", ProbationConnector, _probation_route, "clients", "/tenants/{org}/clients", 4,
     "officer_notes"),
    ("probation", ProbationConnector, _probation_route, "orders", "/tenants/{org}/orders", 4,
     "offence_description"),
    ("dji", DjiConnector, _dji_route, "detentions", "/api/v1/detentions", 2,
     "offence_description"),
    ("wijkteam", WijkteamConnector, _wijkteam_route, "involvements",
     "/municipalities/{code}/involvements", 3, "case_notes"),
    ("municipal_orders", MunicipalOrdersConnector, _municipal_route, "agreements",
     "/agreements", 2, "contact_person"),
    ("municipal_orders", MunicipalOrdersConnector, _municipal_route, "bookings", "/bookings", 2,
     "note"),
]


@pytest.mark.parametrize(("source", "connector_class", "route", "dataset", "template", "pages",
                          "never"), EXAMPLE_PULLS)
def test_the_connector_lands_the_documents_examples(source, connector_class, route, dataset,
                                                    template, pages, never):
    with ExampleServer(source, route) as examples:
        connector = connector_class(HttpSettings(examples.base_url, CREDENTIAL, max_retries=0,
                                                 backoff_factor_s=0))
        try:
            extract = connector.pull(dataset, since=SINCE)
        finally:
            connector.close()
    doc = document(source)
    served = [record for name in ("first_page", "last_page")
              for record in _records(example(doc, template, 200, name))]
    manifest = extract.manifest
    # Paging followed to the end, every record landed once, in the order served.
    assert extract.pages == pages
    assert [a.fields[manifest.record_key] for a, _ in extract.records] == [
        r[manifest.record_key] for r in served]
    assert extract.max_updated_at == max(r["updated_at"] for r in served)
    # Permitted fields only: the manifest's names, nothing of the free text.
    permitted = {f.name for f in manifest.fields}
    for allowed, _ in extract.records:
        assert set(allowed.fields) == permitted and not allowed.missing
        landed = json.dumps([allowed.fields, allowed.identity])
        assert "Synthetische" not in landed and "Fictieve Ambtenaar" not in landed
    assert extract.dropped_fields[never] == len(served)
    # Every request kept the document: declared parameters within their bounds.
    assert examples.requests
    for target in examples.requests:
        assert request_problems(doc, target) == []
        if "?" in target and not target.startswith("/municipalities?"):
            assert "updated_since=2026-11-20T00%3A00%3A00Z" in target or (
                f"updated_since={SINCE}" in target)
    if source == "probation":
        asked = {name for target in examples.requests
                 for name in _query(target)["fields"][0].split(",")}
        assert never not in asked
        assert asked == {p.split(".")[0] for p in manifest.permitted_paths}


def _records(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body.get("data", body.get("items"))  # type: ignore[no-any-return]


def _query(target: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(target).query)


def test_the_request_check_finds_a_request_outside_the_document():
    doc = document("probation")
    assert request_problems(doc, "/tenants/RN/clients?page_size=200&fields=client_id") == []
    problems = request_problems(
        doc, "/tenants/RN/clients?page_size=5000&fields=client_id,shoe_size&since=x")
    assert len(problems) == 3
    assert request_problems(doc, "/tenants/RN/cases") == ["/tenants/RN/cases: no such path "
                                                           "in the document"]


# (d) The conformance check can fail: changed answers, and the drift the simulator serves.

def _changed(answer: requests.Response, body: Any) -> requests.Response:
    answer._content = json.dumps(body).encode()
    return answer


def _drop_bsn(body: dict[str, Any]) -> None:
    del body["items"][0]["bsn"]


def _add_field(body: dict[str, Any]) -> None:
    body["items"][0]["phone_number"] = "0000000000"


def _unknown_status(body: dict[str, Any]) -> None:
    body["items"][0]["reintegration_plan"]["housing"]["status"] = "maybe"


def _timestamp_with_offset(body: dict[str, Any]) -> None:
    body["items"][0]["updated_at"] = body["items"][0]["updated_at"][:-1] + "+00:00"


def _null_prison(body: dict[str, Any]) -> None:
    body["items"][0]["prison_code"] = None


def _total_as_text(body: dict[str, Any]) -> None:
    body["total"] = str(body["total"])


@pytest.mark.parametrize("mutation", [_drop_bsn, _add_field, _unknown_status,
                                      _timestamp_with_offset, _null_prison, _total_as_text])
def test_a_changed_answer_fails_the_conformance_check(server, http, mutation):
    op = operation(loaded("dji"), "/api/v1/detentions")
    answer = _get(http, server, "dji", "/api/v1/detentions", {"limit": 2})
    conform(op, answer, query={"limit": 2})
    body = answer.json()
    mutation(body)
    with pytest.raises(FailureGroup):
        conform(op, _changed(answer, body), query={"limit": 2})


def test_a_probation_page_with_other_fields_than_asked_fails(server, http):
    op = operation(loaded("probation"), "/tenants/{org}/clients")
    query = {"fields": "client_id,updated_at"}
    answer = _get(http, server, "probation", "/tenants/RN/clients", query)
    conform(op, answer, path_parameters={"org": "RN"}, query=query,
            extra=(requested_fields_conformance,))
    body = answer.json()
    body["data"][0]["bsn"] = body["data"][0]["client_id"][-9:].zfill(9)  # a field not asked
    with pytest.raises(FailureGroup, match="fields asked"):
        conform(op, _changed(answer, body), path_parameters={"org": "RN"}, query=query,
                extra=(requested_fields_conformance,))
    # Without `fields`, every field: a record without its notes is incomplete.
    answer = _get(http, server, "probation", "/tenants/RN/clients")
    body = answer.json()
    del body["data"][0]["officer_notes"]
    with pytest.raises(FailureGroup, match="incomplete"):
        conform(op, _changed(answer, body), path_parameters={"org": "RN"},
                extra=(requested_fields_conformance,))


def test_a_throttled_answer_without_retry_after_fails(server, http):
    op = operation(loaded("municipal_orders"), "/agreements")
    server.set_faults("municipal_orders:429=0")
    try:
        answer = _get(http, server, "municipal_orders", "/agreements")
    finally:
        server.set_faults("")
    del answer.headers["Retry-After"]
    del answer.raw.headers["Retry-After"]  # what schemathesis reads (every value of a name)
    with pytest.raises(FailureGroup):
        conform(op, answer)


@pytest.mark.parametrize("fault", ["drift_renamed", "drift_missing", "drift_type",
                                   "drift_extra"])
@pytest.mark.parametrize(("source", "template", "params"),
                         [LISTINGS[0], LISTINGS[2], LISTINGS[3], LISTINGS[5]])
def test_the_drift_the_simulator_can_serve_fails_the_conformance_check(
        server, http, source, template, params, fault):
    op = operation(loaded(source), template)
    path_parameters = _path_parameters(server, params)
    server.set_faults(f"{source}:{fault}=*")
    try:
        answer = _get(http, server, source, template.format(**path_parameters))
    finally:
        server.set_faults("")
    assert answer.status_code == 200
    with pytest.raises(FailureGroup):
        conform(op, answer, path_parameters=path_parameters,
                extra=(requested_fields_conformance,))
