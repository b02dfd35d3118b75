"""The simulated source systems over real HTTP, as a connector sees them (API.md)."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pytest
import requests

from ketenbrug.simulators import WorldServer, generate_world

TODAY = date(2026, 11, 29)
SINCE = "2026-11-20T00:00:00Z"
TIMEOUT = (2, 10)


@pytest.fixture(scope="module")
def world():
    return generate_world(clients=200, seed=5, today=TODAY)


@pytest.fixture(scope="module")
def session():
    with requests.Session() as http:
        yield http


def _get(session, server, slug, path, params=None, credential=None):
    credential = server.credentials[slug] if credential is None else credential
    if slug == "wijkteam":
        headers = {"X-API-Key": credential}
    else:
        headers = {"Authorization": f"Bearer {credential}"}
    return session.get(
        server.base_urls[slug] + path, params=params, headers=headers, timeout=TIMEOUT
    )


def _pages(session, server, slug, path, **params):
    """Return every record of a page-numbered endpoint, walking pages of 7."""
    records, page = [], 1
    while True:
        body = _get(session, server, slug, path, {**params, "page": page, "page_size": 7}).json()
        records.extend(body["data"])
        if not body["has_more"]:
            assert len(records) == body["total"]
            return records
        page += 1


def _episodes(session, server, **params):
    """Return every EpisodeOfCare by following `next` links from the first search."""
    response = _get(session, server, "care", "/fhir/EpisodeOfCare", {"_count": 9, **params})
    resources = []
    while True:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/fhir+json"
        bundle = response.json()
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
        resources.extend(entry["resource"] for entry in bundle["entry"])
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            assert len(resources) == bundle["total"]
            return resources
        assert urlsplit(following[0]).netloc == urlsplit(server.base_urls["care"]).netloc
        response = session.get(
            following[0],
            headers={"Authorization": f"Bearer {server.credentials['care']}"},
            timeout=TIMEOUT,
        )


def test_every_system_is_healthy_without_credentials(server, session):
    assert set(server.base_urls) == {"probation", "dji", "wijkteam", "care", "municipal_orders"}
    assert len(set(server.credentials.values())) == 5
    for base_url in server.base_urls.values():
        assert base_url.startswith("http://127.0.0.1:")
        response = session.get(f"{base_url}/health", timeout=TIMEOUT)
        assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("entity", ["clients", "orders"])
def test_probation_paging_covers_every_record_once(server, session, world, entity):
    records = []
    for org in ("RN", "SVG", "LJR"):
        records += _pages(session, server, "probation", f"/tenants/{org}/{entity}")
    key = "client_id" if entity == "clients" else "order_id"
    expected = world.probation_clients if entity == "clients" else world.probation_orders
    assert sorted(r[key] for r in records) == sorted(r[key] for r in expected)


def test_detention_offset_paging_covers_every_record_once(server, session, world):
    numbers, offset = [], 0
    while True:
        body = _get(session, server, "dji", "/api/v1/detentions", {"offset": offset, "limit": 6})
        items = body.json()["items"]
        if not items:
            break
        numbers += [d["registration_number"] for d in items]
        offset += len(items)
    assert sorted(numbers) == sorted(d["registration_number"] for d in world.detentions)


def test_involvements_are_served_per_municipality(server, session, world):
    listing = _get(session, server, "wijkteam", "/municipalities").json()["data"]
    assert len(listing) == 342
    codes = sorted({i["municipality_code"] for i in world.involvements})
    served = []
    for code in codes:
        records = _pages(session, server, "wijkteam", f"/municipalities/{code}/involvements")
        assert {r["municipality_code"] for r in records} == {code}
        served += [r["involvement_id"] for r in records]
    assert sorted(served) == sorted(i["involvement_id"] for i in world.involvements)


@pytest.mark.parametrize("path", ["/agreements", "/bookings"])
def test_municipal_orders_paging_covers_every_record_once(server, session, world, path):
    key = "agreement_id" if path == "/agreements" else "booking_id"
    expected = world.agreements if path == "/agreements" else world.bookings
    records = _pages(session, server, "municipal_orders", path)
    assert sorted(r[key] for r in records) == sorted(r[key] for r in expected)


def test_updated_since_returns_only_newer_records(server, session, world):
    records = _pages(session, server, "probation", "/tenants/RN/orders", updated_since=SINCE)
    expected = [
        o for o in world.probation_orders if o["organisation"] == "RN" and o["updated_at"] >= SINCE
    ]
    assert 0 < len(records) < sum(o["organisation"] == "RN" for o in world.probation_orders)
    assert all(r["updated_at"] >= SINCE for r in records)
    assert sorted(r["order_id"] for r in records) == sorted(o["order_id"] for o in expected)
    # Stable order, so a connector can resume from the last stamp it saw.
    assert [r["updated_at"] for r in records] == sorted(r["updated_at"] for r in records)


def test_updated_since_filters_detentions(server, session, world):
    body = _get(session, server, "dji", "/api/v1/detentions", {"updated_since": SINCE}).json()
    assert body["total"] == sum(d["updated_at"] >= SINCE for d in world.detentions)


def test_fhir_next_links_walk_every_episode(server, session, world):
    resources = _episodes(session, server)
    assert sorted(r["id"] for r in resources) == sorted(e["id"] for e in world.care_episodes)


def test_fhir_last_updated_filter_survives_paging(server, session, world):
    resources = _episodes(session, server, _lastUpdated=f"ge{SINCE}")
    expected = {e["id"] for e in world.care_episodes if e["meta"]["lastUpdated"] >= SINCE}
    assert 0 < len(expected) < len(world.care_episodes)
    assert {r["id"] for r in resources} == expected


@pytest.mark.parametrize(
    ("slug", "path"),
    [
        ("probation", "/tenants/RN/clients"),
        ("dji", "/api/v1/detentions"),
        ("wijkteam", "/municipalities"),
        ("care", "/fhir/EpisodeOfCare"),
        ("municipal_orders", "/bookings"),
    ],
)
def test_wrong_credentials_403_and_missing_401(server, session, slug, path):
    wrong = _get(session, server, slug, path, credential="not-the-token")
    assert wrong.status_code == 403
    assert _error(slug, wrong) == "credentials not accepted"
    missing = session.get(server.base_urls[slug] + path, timeout=TIMEOUT)
    assert missing.status_code == 401
    assert _error(slug, missing) == "credentials missing"


def _error(slug, response):
    """The error message of an answer: `error`, or for FHIR an OperationOutcome's issue."""
    if slug != "care":
        return response.json()["error"]
    assert response.headers["Content-Type"] == "application/fhir+json"
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    (issue,) = outcome["issue"]
    assert issue["severity"] == "error"
    return issue["diagnostics"]


def test_credentials_of_one_system_do_not_open_another(server, session):
    response = _get(
        session, server, "dji", "/api/v1/detentions", credential=server.credentials["care"]
    )
    assert response.status_code == 403


def test_probation_fields_limits_keys(server, session):
    body = _get(
        session, server, "probation", "/tenants/SVG/clients", {"fields": "client_id,risc_level"}
    ).json()
    assert body["data"]
    assert all(set(r) == {"client_id", "risc_level"} for r in body["data"])


@pytest.mark.parametrize(
    ("slug", "path", "params"),
    [
        ("probation", "/tenants/RN/clients", {"fields": "client_id,officer_remarks"}),
        ("probation", "/tenants/RN/clients", {"page": "0"}),
        ("probation", "/tenants/RN/orders", {"updated_since": "yesterday"}),
        ("municipal_orders", "/bookings", {"updated_since": "2026-11-20"}),  # a date, no instant
        ("dji", "/api/v1/detentions", {"limit": "-5"}),
        ("care", "/fhir/EpisodeOfCare", {"_lastUpdated": "lt2026-11-01T00:00:00Z"}),
        ("municipal_orders", "/agreements", {"sort": "tariff"}),
    ],
)
def test_bad_query_parameters_are_400(server, session, slug, path, params):
    response = _get(session, server, slug, path, params)
    assert response.status_code == 400
    assert _error(slug, response)


@pytest.mark.parametrize(
    ("slug", "path"),
    [
        ("probation", "/tenants/XYZ/clients"),
        ("dji", "/api/v2/detentions"),
        ("wijkteam", "/municipalities/GM9999/involvements"),
        ("care", "/fhir/Patient"),
        ("municipal_orders", "/invoices"),
    ],
)
def test_unknown_paths_are_404(server, session, slug, path):
    assert _get(session, server, slug, path).status_code == 404


def test_stop_releases_the_ports(world):
    server = WorldServer(world).start()
    url = server.base_urls["dji"] + "/health"
    assert requests.get(url, timeout=TIMEOUT).status_code == 200
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=TIMEOUT)


@pytest.mark.parametrize("same_instant", ["2026-11-20T01:00:00+01:00", "2026-11-19T23:00:00-01:00",
                                          "2026-11-19T23:59:59.5Z"])
def test_updated_since_accepts_other_rfc_3339_forms_of_the_same_instant(server, session,
                                                                       same_instant):
    def total(since):
        params = {"updated_since": since}
        return _get(session, server, "municipal_orders", "/bookings", params).json()["total"]

    assert total(same_instant) == total(SINCE)
