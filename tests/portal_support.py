"""Accounts and logged-in clients for the portal's tests, on a hub that has run.

`portal_users(home)` makes one local account per role (two officers of different
organisations, two municipalities that have packages in the outbox); `client_as(home,
login)` is a Starlette TestClient logged in through the login form as a browser would
(https, so the Secure cookies travel).
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from ketenbrug.config import Settings
from ketenbrug.portal.accounts import add_user, list_users
from ketenbrug.portal.app import create_app
from ketenbrug.portal.rights import Role
from ketenbrug.portal.store import PortalStore

PASSWORD = "synthetic-test-password"


def municipalities_with_packages(home: Path) -> list[str]:
    return sorted(p.parent.name for p in (home / "outbox").glob("GM*/*.kbpkg"))


def portal_users(home: Path) -> dict[str, tuple[Role, str]]:
    """login -> (role, organisation), made once per home."""
    codes = municipalities_with_packages(home)
    wanted = {"officer-rn": (Role.PROBATION_OFFICER, "RN"),
              "officer-svg": (Role.PROBATION_OFFICER, "SVG"),
              "gemeente-a": (Role.MUNICIPALITY, codes[0]),
              "gemeente-b": (Role.MUNICIPALITY, codes[1]),
              "privacy": (Role.PRIVACY_OFFICER, "hub"),
              "steward": (Role.DATA_STEWARD, "hub")}
    store = PortalStore(home)
    existing = {u["login"] for u in list_users(store)}
    for login, (role, organisation) in wanted.items():
        if login not in existing:
            add_user(store, login, role, organisation, PASSWORD)
    return wanted


def app_for(home: Path, **overrides: str):
    from ketenbrug.pipelines.asset_graph import asset_parents

    return create_app(Settings.for_home(home, **overrides), asset_parents)


def client_as(home: Path, login: str | None, app=None) -> TestClient:
    """A client of the portal of `home`, logged in as `login` (None: not logged in)."""
    client = TestClient(app or app_for(home), base_url="https://testserver",
                        follow_redirects=False)
    if login is not None:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, form.text
        done = client.post("/login", data={"login": login, "password": PASSWORD,
                                           "csrf_token": token.group(1), "next": "/"})
        assert done.status_code == 303, done.text
    return client


def csrf_of(page_html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)
