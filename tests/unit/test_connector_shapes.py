"""A body of the wrong shape fails the pull with a SourceError that names source, path and
query and what was wrong, never with a bare KeyError or TypeError, and never with a value."""

from __future__ import annotations

import json
import sys

import pytest

from ketenbrug.connectors import CONNECTORS, HttpSettings, SourceError
from tests.canned_http import install

BASE = "http://127.0.0.1:9"
SEARCHSET = {"resourceType": "Bundle", "type": "searchset"}
FIRST_SEARCH = f"{BASE}/fhir/EpisodeOfCare?_count=100&_include=EpisodeOfCare%3Apatient"


def _pull(slug: str, dataset: str, *bodies: dict | bytes, listing: dict | None = None,
          asked: list[str] | None = None):
    connector = CONNECTORS[slug](HttpSettings(BASE, "c", max_retries=0, backoff_factor_s=0))
    queue = [b if isinstance(b, bytes) else json.dumps(b).encode() for b in bodies]

    def answer(request):
        if request.path_url.startswith("/municipalities?") or request.path_url == "/municipalities":
            return 200, "application/json", json.dumps(listing).encode()
        return 200, "application/json", queue.pop(0) if len(queue) > 1 else queue[0]

    adapter = install(connector, answer)
    adapter.requests = asked if asked is not None else adapter.requests
    try:
        return connector.pull(dataset), adapter
    finally:
        connector.close()


@pytest.mark.parametrize(("slug", "dataset", "body", "message"), [
    ("dji", "detentions", {"total": 3}, "body has no 'items' list"),
    ("dji", "detentions", {"items": [], "total": "3 or so"},
     "body's 'total' is a string, not a whole number >= 0"),
    ("dji", "detentions", {"items": [{"registration_number": "R1"}, "R2"], "total": 2},
     "items[1] is a string, not an object"),
    ("municipal_orders", "bookings", {"data": {"booking_id": "B1"}},
     "body's 'data' is an object, not a list"),
    ("municipal_orders", "bookings", {"data": [], "has_more": "false"},
     "body's 'has_more' is a string, not a boolean"),
    ("care", "episodes", {**SEARCHSET, "entry": [{"resource": {}}] * 3 + ["Jansen"]},
     "entry[3] is a string, not an object"),
    ("care", "episodes", {**SEARCHSET, "entry": [{"fullUrl": "x"}]},
     "entry[0] has no 'resource' object"),
    ("care", "episodes", {**SEARCHSET, "link": [{"relation": "next", "url": 7}]},
     "the Bundle is not valid FHIR R4: link.0.url: Input should be a valid string"),
    ("care", "episodes", {"entry": []}, "body has no FHIR 'resourceType'"),
    ("care", "episodes", {**SEARCHSET, "type": "Jansen"}, "Bundle.type is not 'searchset'"),
    ("care", "episodes", {**SEARCHSET, "entry": [
        {"resource": {"resourceType": "EpisodeOfCare"}, "search": {"mode": "Jansen"}}]},
     "entry[0].search.mode is not one of ('match', 'include', 'outcome')"),
    ("care", "episodes", {**SEARCHSET, "entry": [
        {"resource": {"resourceType": "Patient", "id": "Jansen Piet"},
         "search": {"mode": "include"}}]},
     "entry[0] is not valid FHIR R4: id: String should match pattern '^[A-Za-z0-9\\-.]+$'"),
])
def test_a_wrong_shape_is_named(slug, dataset, body, message):
    with pytest.raises(SourceError) as raised:
        _pull(slug, dataset, body)
    assert str(raised.value).startswith(f"{slug}: GET /")
    assert str(raised.value).endswith(message)
    assert "Jansen" not in str(raised.value)


def test_a_next_link_to_another_host_is_refused_before_the_credential_goes_there():
    bundle = {**SEARCHSET, "link": [{"relation": "next", "url": "http://elsewhere.test/x"}]}
    asked: list[str] = []
    with pytest.raises(SourceError, match=r"'next' link points outside the source$"):
        _pull("care", "episodes", bundle, asked=asked)
    assert asked == [FIRST_SEARCH]  # never the foreign URL


def test_a_next_link_on_the_source_is_followed():
    first = {**SEARCHSET, "entry": [{"resource": {"resourceType": "EpisodeOfCare", "id": "e1"}}],
             "link": [{"relation": "next", "url": f"{BASE}/fhir/EpisodeOfCare?page=2"}]}
    last = {**SEARCHSET, "entry": [{"resource": {"resourceType": "EpisodeOfCare", "id": "e2"}}]}
    extract, adapter = _pull("care", "episodes", first, last)
    assert [a.fields["episode_id"] for a, _ in extract.records] == ["e1", "e2"]
    assert adapter.requests[-1] == f"{BASE}/fhir/EpisodeOfCare?page=2"


@pytest.mark.parametrize("code", ["../../admin", "GM0363?x=1", "", None, 363])
def test_a_municipality_code_that_is_not_a_plain_token_never_reaches_a_path(code):
    with pytest.raises(SourceError, match=r"^wijkteam: GET /municipalities data\[0\] has no "
                                          r"usable 'municipality_code'$"):
        _pull("wijkteam", "involvements", {"data": []},
              listing={"data": [{"municipality_code": code}]})


@pytest.mark.parametrize(("depth", "message"), [
    (40, "body nests deeper than 32 levels"),
    (sys.getrecursionlimit() - 100, "body nests deeper than 32 levels"),
    (sys.getrecursionlimit() * 2, "body nests too deeply to read")])
def test_a_record_nested_too_deeply_fails_by_name_not_by_recursion_error(depth, message):
    nested = b'{"n":' * depth + b'"leaf"' + b"}" * depth
    body = b'{"total":1,"items":[{"registration_number":"R1","x":' + nested + b"}]}"
    with pytest.raises(SourceError, match=rf"^dji: GET /api/v1/detentions\S* {message}$"):
        _pull("dji", "detentions", body)


def test_a_record_nested_within_the_limit_is_pulled():
    nested = b'{"n":' * 28 + b'"leaf"' + b"}" * 28
    body = b'{"total":1,"items":[{"registration_number":"R1","x":' + nested + b"}]}"
    extract, _ = _pull("dji", "detentions", body)
    assert len(extract.records) == 1
