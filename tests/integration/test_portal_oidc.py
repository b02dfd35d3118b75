"""Logging in through an organisation's identity provider (OpenID Connect, code flow).

Against a real provider on loopback (tests/oidc_provider.py): the ID token's signature,
issuer, audience and nonce are checked by authlib; the role and organisation come from
the token's claims and pass the same checks as a local account's; anything else is a
refused login, recorded, and no session.
"""

from __future__ import annotations

import sqlite3

import pytest
import requests
from joserfc.jwk import RSAKey
from starlette.testclient import TestClient

from ketenbrug.config import Settings
from ketenbrug.portal.app import create_app
from ketenbrug.portal.sessions import SESSION_COOKIE
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider


@pytest.fixture
def provider():
    with OidcProvider() as running:
        yield running


@pytest.fixture
def portal(tmp_path, provider):
    settings = Settings.for_home(tmp_path, oidc_issuer=provider.issuer,
                                 oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET)
    return tmp_path, TestClient(create_app(settings), base_url="https://testserver",
                                follow_redirects=False)


def _log_in(client: TestClient, next_page: str = "/"):
    """The browser's part: to the provider and back with its answer."""
    start = client.get(f"/login/oidc?next={next_page}")
    assert start.status_code in (302, 303, 307), start.text
    answer = requests.get(start.headers["location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    back = answer.headers["location"]
    assert back.startswith("https://testserver/login/oidc/callback?")
    return client.get(back.removeprefix("https://testserver"))


def test_a_person_of_the_identity_provider_logs_in_with_the_role_it_asserts(portal,
                                                                              provider):
    home, client = portal
    provider.next_claims = {"sub": "j.jansen@rn.example", "ketenbrug_role":
                            "probation_officer", "ketenbrug_organisation": "RN"}
    done = _log_in(client, "/clients")
    assert done.status_code == 303 and done.headers["location"] == "/clients"
    assert SESSION_COOKIE in client.cookies
    start = client.get("/")
    assert "j.jansen@rn.example · reclasseringswerker RN" in start.text
    with sqlite3.connect(home / "portal" / "portal.sqlite") as con:
        assert con.execute("select subject, role, organisation, via from sessions"
                           ).fetchall() == [("j.jansen@rn.example", "probation_officer",
                                             "RN", "portal-oidc")]


@pytest.mark.parametrize("claims, says", [
    ({"sub": "x@gemeente.example", "ketenbrug_role": "municipality",
      "ketenbrug_organisation": "Almere"}, "CBS code"),
    ({"sub": "x@example", "ketenbrug_role": "root", "ketenbrug_organisation": "hub"},
     "no usable role"),
    ({"sub": "x@example"}, "no usable role"),
])
def test_claims_that_make_no_principal_are_a_refused_login(portal, provider, claims, says):
    home, client = portal
    provider.next_claims = claims
    refused = _log_in(client)
    assert refused.status_code == 403 and says in refused.text
    assert SESSION_COOKIE not in client.cookies
    with sqlite3.connect(home / "portal" / "portal.sqlite") as con:
        assert con.execute("select count(*) from access_events where outcome = "
                           "'login_failed'").fetchone()[0] == 1


def test_an_id_token_signed_by_anyone_but_the_provider_is_refused(portal, provider):
    _, client = portal
    provider.next_claims = {"sub": "mallory", "ketenbrug_role": "privacy_officer",
                            "ketenbrug_organisation": "hub"}
    provider.forge_with = RSAKey.generate_key(2048, parameters={"kid": "test-1"},
                                              private=True)
    refused = _log_in(client)
    assert refused.status_code in (401, 403) and "refused" in refused.text.lower()
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/").status_code == 303  # still not logged in


def test_a_callback_whose_state_is_not_this_browsers_is_refused(portal, provider):
    _, client = portal
    provider.next_claims = {"sub": "someone", "ketenbrug_role": "data_steward",
                            "ketenbrug_organisation": "hub"}
    start = client.get("/login/oidc")
    answer = requests.get(start.headers["location"], allow_redirects=False, timeout=10)
    victim = TestClient(client.app, base_url="https://testserver", follow_redirects=False)
    # The attacker's own code, planted in another person's browser (login CSRF).
    planted = victim.get(answer.headers["location"].removeprefix("https://testserver"))
    assert planted.status_code == 401
    assert SESSION_COOKIE not in victim.cookies
