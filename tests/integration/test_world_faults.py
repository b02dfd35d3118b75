"""Each fault knob produces the fault it names, over real HTTP, and then stops (API.md)."""

from __future__ import annotations

import json
from datetime import date

import pytest
import requests

from ketenbrug.simulators import WorldServer, generate_world, is_valid_bsn

TODAY = date(2026, 11, 29)
TIMEOUT = (2, 10)
PATHS = {
    "probation": "/tenants/RN/orders",
    "dji": "/api/v1/detentions",
    "wijkteam": "/municipalities",
    "care": "/fhir/EpisodeOfCare",
    "municipal_orders": "/bookings",
}


@pytest.fixture(scope="module")
def world():
    return generate_world(clients=400, seed=21, today=TODAY)


@pytest.fixture
def faults(server):
    """Set faults on the running server for one test; clear them afterwards."""
    yield server.set_faults
    server.set_faults("")


def _headers(server, slug):
    credential = server.credentials[slug]
    return {"X-API-Key": credential} if slug == "wijkteam" else {
        "Authorization": f"Bearer {credential}"}


def _get(server, slug, path=None, params=None, timeout=TIMEOUT):
    url = server.base_urls[slug] + (path or PATHS[slug])
    return requests.get(url, params=params, headers=_headers(server, slug), timeout=timeout)


@pytest.mark.parametrize("slug", sorted(PATHS))
@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_for_the_first_n_requests_then_answers(server, faults, slug, status):
    faults(f"{slug}:{status}x2")
    assert [_get(server, slug).status_code for _ in range(3)] == [status, status, 200]
    assert [kind for kind, _ in server.served_faults()[slug]] == [str(status)] * 2


def test_429_carries_retry_after(server, faults):
    faults("dji:429=7x1")
    limited = _get(server, "dji")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert _get(server, "dji").status_code == 200


def test_faults_wait_for_the_right_dataset_and_credentials(server, faults):
    faults("probation.orders:503x1")
    assert _get(server, "probation", "/tenants/RN/clients").status_code == 200
    assert _get(server, "probation", "/health").status_code == 200
    wrong = requests.get(server.base_urls["probation"] + PATHS["probation"],
                         headers={"Authorization": "Bearer wrong"}, timeout=TIMEOUT)
    assert wrong.status_code == 403
    assert _get(server, "probation").status_code == 503
    assert _get(server, "probation").status_code == 200


def test_every_request_fails_with_star(server, faults):
    faults("care:500x*")
    assert {_get(server, "care").status_code for _ in range(5)} == {500}


def test_slow_answers_exceed_the_read_timeout(server, faults):
    faults("municipal_orders:slow=0.5x1")
    with pytest.raises(requests.ReadTimeout):
        _get(server, "municipal_orders", timeout=(2, 0.2))
    assert _get(server, "municipal_orders", timeout=(2, 0.2)).status_code == 200


def test_drop_closes_the_connection_without_an_answer(server, faults):
    faults("wijkteam:dropx1")
    with pytest.raises(requests.ConnectionError):
        _get(server, "wijkteam")
    assert _get(server, "wijkteam").status_code == 200


@pytest.mark.parametrize("kind", ["truncated", "malformed"])
def test_broken_json_comes_with_status_200(server, faults, kind):
    faults(f"dji:{kind}")
    broken = _get(server, "dji")
    assert broken.status_code == 200
    assert len(broken.content) == int(broken.headers["Content-Length"])
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.content)
    assert _get(server, "dji").json()["items"]
    if kind == "truncated":
        assert len(broken.content) < len(_get(server, "dji").content)


def test_page_twice_repeats_the_previous_page_ahead_of_the_next(server, faults):
    faults("probation.orders:page_twice")
    params = {"page_size": 5}
    first = _get(server, "probation", params={**params, "page": 1}).json()["data"]
    second = _get(server, "probation", params={**params, "page": 2}).json()
    assert second["page"] == 2
    keys = [r["order_id"] for r in second["data"]]
    assert keys[:5] == [r["order_id"] for r in first]
    clean = _get(server, "probation", params={**params, "page": 2}).json()["data"]
    assert keys[5:] == [r["order_id"] for r in clean]


def test_page_twice_on_offset_paging_says_where_items_start(server, faults):
    faults("dji:page_twice")
    repeated = _get(server, "dji", params={"offset": 10, "limit": 10}).json()
    assert repeated["offset"] == 0 and len(repeated["items"]) == 20
    clean = _get(server, "dji", params={"offset": 0, "limit": 20}).json()
    assert repeated["items"] == clean["items"]


def test_page_twice_in_fhir_keeps_the_next_link(server, faults):
    faults("care:page_twice")
    bundle = _get(server, "care", params={"_count": 4, "_getpagesoffset": 4}).json()
    assert len(bundle["entry"]) == 8
    following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
    assert "_getpagesoffset=8" in following[0]


def _all(server, slug, path):
    """Every record of a page-numbered endpoint (data faults make no transport trouble)."""
    records, page = [], 1
    while True:
        body = _get(server, slug, path, {"page": page, "page_size": 1000}).json()
        records += body["data"]
        if not body["has_more"]:
            return records
        page += 1


def test_data_faults_are_served_and_reported_by_key(server, world, faults):
    report = faults("probation.clients:invalid_bsn=3,probation.clients:duplicate=2,"
                    "probation.clients:drift_renamed=2,probation.clients:csv_formula=2")
    touched = report["probation.clients"]
    assert {k: len(v) for k, v in touched.items()} == {
        "invalid_bsn": 3, "duplicate": 2, "drift_renamed": 2, "csv_formula": 2}
    served = [r for org in ("RN", "SVG", "LJR")
              for r in _all(server, "probation", f"/tenants/{org}/clients")]
    assert len(served) == len(world.probation_clients) + 2
    keys = [r["client_id"] for r in served]
    assert sorted({k for k in keys if keys.count(k) > 1}) == touched["duplicate"]
    assert sorted(r["client_id"] for r in served if not is_valid_bsn(r["bsn"])) == touched[
        "invalid_bsn"]
    assert sorted(r["client_id"] for r in served if "risk_level" in r) == touched[
        "drift_renamed"]
    assert sorted(r["client_id"] for r in served if r["surname"][0] in "=+-@") == touched[
        "csv_formula"]
    # The world is untouched: the fault lives in what is served.
    assert all(is_valid_bsn(c["bsn"]) for c in world.probation_clients)


def test_oversized_and_future_dates_over_http(server, faults):
    report = faults("care:oversized=1,care:future_date=2")
    bundle = _get(server, "care", params={"_count": 1000}).json()
    by_id = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}
    (big,) = report["care.episodes"]["oversized"]
    assert len(by_id[big]["managingOrganization"]["display"]) > 1_000_000
    for key in report["care.episodes"]["future_date"]:
        assert by_id[key]["meta"]["lastUpdated"] > TODAY.isoformat()


def test_clearing_faults_serves_the_world_again(server, world, faults):
    faults("dji:invalid_bsn=*")
    assert not any(is_valid_bsn(d["bsn"]) for d in _get(server, "dji", params={
        "limit": 1000}).json()["items"])
    assert faults("") == {}
    items = _get(server, "dji", params={"limit": 1000}).json()["items"]
    assert len(items) == len(world.detentions) and all(is_valid_bsn(d["bsn"]) for d in items)


def test_faults_given_at_start_are_served(world):
    with WorldServer(world, faults="municipal_orders:503x1") as running:
        assert _get(running, "municipal_orders").status_code == 503
        assert _get(running, "municipal_orders").status_code == 200
