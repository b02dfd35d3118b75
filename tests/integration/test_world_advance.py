"""A running server moves on with its world: incremental pulls see exactly the changes,
over HTTP, and the control API does it from outside the process."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from ketenbrug.simulators import generate_world

TODAY = date(2026, 11, 29)
SERVE_ADMIN = True  # time moves through the admin port
TIMEOUT = (2, 10)


@pytest.fixture(scope="module")
def world():
    return generate_world(clients=1500, seed=8, today=TODAY)


def _page_numbered(server, slug, path, headers, since):
    records, page = [], 1
    while True:
        body = requests.get(server.base_urls[slug] + path, headers=headers, timeout=TIMEOUT,
                            params={"page": page, "page_size": 1000,
                                    "updated_since": since}).json()
        records += body["data"]
        if not body["has_more"]:
            return records
        page += 1


def _changed_since(server, since):
    """Return the keys per dataset an incremental pull from `since` sees, over HTTP."""
    bearer = {slug: {"Authorization": f"Bearer {c}"} for slug, c in server.credentials.items()}
    seen = {}
    for entity, key in (("clients", "client_id"), ("orders", "order_id")):
        seen[f"probation.{entity}"] = sorted(
            r[key] for org in ("RN", "SVG", "LJR") for r in _page_numbered(
                server, "probation", f"/tenants/{org}/{entity}", bearer["probation"], since))
    body = requests.get(server.base_urls["dji"] + "/api/v1/detentions", headers=bearer["dji"],
                        params={"limit": 1000, "updated_since": since}, timeout=TIMEOUT).json()
    assert body["total"] <= 1000
    seen["dji.detentions"] = sorted(d["registration_number"] for d in body["items"])
    key_header = {"X-API-Key": server.credentials["wijkteam"]}
    seen["wijkteam.involvements"] = sorted(
        r["involvement_id"] for code in {i["municipality_code"] for i in server.world.involvements}
        for r in _page_numbered(server, "wijkteam", f"/municipalities/{code}/involvements",
                                key_header, since))
    bundle = requests.get(server.base_urls["care"] + "/fhir/EpisodeOfCare", headers=bearer["care"],
                          params={"_count": 1000, "_lastUpdated": f"ge{since}"},
                          timeout=TIMEOUT).json()
    seen["care.episodes"] = sorted(e["resource"]["id"] for e in bundle["entry"])
    for entity, key in (("agreements", "agreement_id"), ("bookings", "booking_id")):
        seen[f"municipal_orders.{entity}"] = sorted(r[key] for r in _page_numbered(
            server, "municipal_orders", f"/{entity}", bearer["municipal_orders"], since))
    return seen


def test_incremental_pulls_see_exactly_what_a_day_changed(server):
    since = f"{server.world.today.isoformat()}T00:00:00Z"
    assert not any(_changed_since(server, since).values())  # nothing stamped today yet
    changed = server.advance(1)
    assert sum(map(len, changed.values())) > 10
    assert _changed_since(server, since) == changed


def test_released_people_show_up_released(server):
    before = {d["registration_number"]: d["actual_release_date"] for d in server.world.detentions}
    today = server.world.today.isoformat()
    changed = server.advance(2)
    headers = {"Authorization": f"Bearer {server.credentials['dji']}"}
    body = requests.get(server.base_urls["dji"] + "/api/v1/detentions", headers=headers,
                        params={"limit": 1000, "updated_since": f"{today}T00:00:00Z"},
                        timeout=TIMEOUT).json()
    released = [d for d in body["items"] if d["registration_number"] in before
                and before[d["registration_number"]] is None and d["actual_release_date"]]
    admitted = [d for d in body["items"] if d["registration_number"] not in before]
    assert released and admitted
    assert {d["registration_number"] for d in body["items"]} == set(changed["dji.detentions"])


def _admin(server, method, path, body="", token=None):
    token = server.admin_token if token is None else token
    return requests.request(method, server.admin_url + path, data=body, timeout=TIMEOUT,
                            headers={"Authorization": f"Bearer {token}"})


def test_control_api_advances_and_sets_faults(server):
    day = server.world.today
    answer = _admin(server, "POST", "/_admin/advance?days=3")
    assert answer.status_code == 200
    assert answer.json()["today"] == date.fromordinal(day.toordinal() + 3).isoformat()
    assert set(answer.json()["changed"]) >= {"dji.detentions", "probation.orders"}
    answer = _admin(server, "POST", "/_admin/faults", "dji:503x1,dji:invalid_bsn=2")
    assert answer.status_code == 200
    assert answer.json()["faults"] == "dji:503x1,dji:invalid_bsn=2"
    assert len(answer.json()["fault_report"]["dji.detentions"]["invalid_bsn"]) == 2
    headers = {"Authorization": f"Bearer {server.credentials['dji']}"}
    url = server.base_urls["dji"] + "/api/v1/detentions"
    assert requests.get(url, headers=headers, timeout=TIMEOUT).status_code == 503
    status = _admin(server, "GET", "/_admin/status").json()
    assert status["served_faults"]["dji"] == [["503", "/api/v1/detentions"]]
    assert _admin(server, "POST", "/_admin/faults", "").json()["faults"] == ""


@pytest.mark.parametrize(
    ("method", "path", "body", "token", "status"),
    [
        ("GET", "/_admin/status", "", "wrong", 403),
        ("GET", "/_admin/status", "", "", 401),
        ("GET", "/_admin/advance", "", None, 405),
        ("POST", "/_admin/advance?days=0", "", None, 400),
        ("POST", "/_admin/faults", "dji:teapot", None, 400),
        ("GET", "/_admin/nothing", "", None, 404),
    ],
)
def test_control_api_refuses(server, method, path, body, token, status):
    assert _admin(server, method, path, body, token).status_code == status


def test_source_systems_keep_their_credentials_across_advances(server):
    credentials = dict(server.credentials)
    server.advance(1)
    assert server.credentials == credentials
    headers = {"Authorization": f"Bearer {server.credentials['care']}"}
    response = requests.get(server.base_urls["care"] + "/fhir/EpisodeOfCare", headers=headers,
                            timeout=TIMEOUT)
    assert response.status_code == 200
