"""The access matrix: every role against every page the portal serves.

Over `PAGES` (what is actually registered, so a new page is in the matrix the moment it
exists): a role with the page's right gets anything but a refusal; a role without it
gets a 403 naming the right, recorded as a denial - also for a POST with a valid CSRF
token. The matrix is written to artifacts/portal/access-matrix.md for the reviewer.
"""

from __future__ import annotations

import html
import re
import sqlite3

import pytest

from ketenbrug.portal.pages import PAGES
from ketenbrug.portal.rights import ROLE_RIGHTS
from tests.browser import ARTIFACTS
from tests.portal_support import app_for, client_as, csrf_of, portal_users

pytestmark = pytest.mark.e2e

# A plausible value for each path parameter: the matrix is about rights, not finding.
PARAMETERS = {"pseudonym": "v1-" + "0" * 32, "name": "warm_handover_2026-01-01.kbpkg",
              "batch_id": "no-such-batch", "id": "1", "month": "2026-01",
              "file": "manifest.json"}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PARAMETERS.get(m.group(1), "x"), path)


@pytest.fixture(scope="module")
def clients(demo_home):
    home = demo_home[0]
    users = portal_users(home)
    app = app_for(home)
    return home, users, {login: client_as(home, login, app) for login in users}


def test_every_role_gets_exactly_the_pages_of_its_rights(clients):
    home, users, logged_in = clients
    assert len(PAGES) >= 12, "the portal's pages are registered"
    rows, wrong = [], []
    for spec in PAGES:
        cells = []
        for login, (role, _) in users.items():
            client = logged_in[login]
            if spec.method == "GET":
                answer = client.get(concrete(spec.path))
            else:
                token = csrf_of(client.get("/").text)
                answer = client.post(concrete(spec.path), data={"csrf_token": token})
            allowed = spec.right in ROLE_RIGHTS[role]
            refused = (answer.status_code == 403
                       and spec.right.value in html.unescape(answer.text))
            if allowed == refused or answer.status_code >= 500:
                wrong.append(f"{login} {spec.method} {spec.path}: {answer.status_code}")
            cells.append("allowed" if not refused else "denied")
        rows.append(f"| {spec.method} {spec.path} | {spec.right.value} | " +
                    " | ".join(cells) + " |")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    header = "| page | right | " + " | ".join(
        f"{login} ({role.value})" for login, (role, _) in users.items()) + " |"
    (ARTIFACTS / "access-matrix.md").write_text(
        "\n".join([header, "|" + "---|" * (len(users) + 2), *rows]) + "\n")
    assert not wrong, "\n".join(wrong)
    with sqlite3.connect(home / "portal" / "portal.sqlite") as con:
        denials = con.execute("select count(*) from access_events "
                              "where outcome = 'denied'").fetchone()[0]
    expected = sum(1 for spec in PAGES for role, _ in users.values()
                   if spec.right not in ROLE_RIGHTS[role])
    assert denials >= expected


def test_an_officer_reads_only_the_own_organisations_clients(clients):
    _, _, logged_in = clients
    rn, svg = logged_in["officer-rn"], logged_in["officer-svg"]
    listed = re.findall(r'href="/clients/(v\d+-[0-9a-f]{32})"', rn.get("/clients").text)
    assert listed
    for pseudonym in listed[:5]:
        assert rn.get(f"/clients/{pseudonym}").status_code == 200
        refused = svg.get(f"/clients/{pseudonym}")
        assert refused.status_code == 404 and "no client of SVG" in refused.text
