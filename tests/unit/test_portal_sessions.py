"""The portal's doors on an empty hub: login, throttling, idle time-out, CSRF, headers.

No page answers without a session; a session ends when idle; a form without its token is
refused; guessing passwords is slowed to a stop. These need no warehouse: the home page
and the login form are enough.
"""

from __future__ import annotations

import time

import pytest

from ketenbrug.portal import sessions
from ketenbrug.portal.accounts import AccountError, add_user, authenticate
from ketenbrug.portal.app import SECURITY_HEADERS
from ketenbrug.portal.pages import PAGES
from ketenbrug.portal.rights import Role
from ketenbrug.portal.store import PortalStore
from tests.portal_support import PASSWORD, app_for, client_as, csrf_of


@pytest.fixture
def home(tmp_path):
    store = PortalStore(tmp_path)
    add_user(store, "anna", Role.PROBATION_OFFICER, "RN", PASSWORD)
    add_user(store, "priya", Role.PRIVACY_OFFICER, "hub", PASSWORD)
    return tmp_path


def _login(client, login, password):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"login": login, "password": password,
                                       "csrf_token": token, "next": "/clients"})


def test_every_page_without_a_session_goes_to_the_login_page(home):
    app = app_for(home)
    client = client_as(home, None, app)
    for spec in PAGES:
        path = spec.path.replace("{", "").replace("}", "")
        answer = client.request(spec.method, path)
        assert answer.status_code == 303, (spec.method, spec.path, answer.status_code)
        assert answer.headers["location"].startswith("/login?next=")
    assert client.get("/").headers["location"] == "/login?next=%2F"


def test_login_sets_a_host_only_secure_httponly_cookie_and_goes_where_asked(home):
    client = client_as(home, None)
    answer = _login(client, "anna", PASSWORD)
    assert answer.status_code == 303 and answer.headers["location"] == "/clients"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "Path=/", "SameSite=lax"):
        assert attribute.lower() in cookie.lower(), cookie
    assert "domain=" not in cookie.lower()
    assert "anna · reclasseringswerker RN" in client.get("/").text


def test_a_wrong_password_and_an_unknown_login_are_refused_alike(home):
    client = client_as(home, None)
    wrong, unknown = _login(client, "anna", "not-the-password"), _login(client, "nobody", "x")
    assert wrong.status_code == unknown.status_code == 401
    assert "Login name or password is wrong" in wrong.text
    assert "Login name or password is wrong" in unknown.text
    assert sessions.SESSION_COOKIE not in client.cookies


def test_the_login_form_needs_its_own_token(home):
    client = client_as(home, None)
    client.get("/login")
    answer = client.post("/login", data={"login": "anna", "password": PASSWORD,
                                         "csrf_token": "forged", "next": "/"})
    assert answer.status_code == 403
    assert sessions.SESSION_COOKIE not in client.cookies


def test_logins_are_throttled_after_repeated_failures_even_with_the_right_password(home):
    client = client_as(home, None)
    for _ in range(sessions.MAX_FAILURES):
        assert _login(client, "anna", "guess-guess-guess").status_code == 401
    refused = _login(client, "anna", PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed logins" in refused.text
    assert sessions.SESSION_COOKIE not in client.cookies
    # Another account from another address is not held back by anna's failures ...
    other = client_as(home, None)
    store = PortalStore(home)
    assert sessions.throttled_for(store, ["login:priya", "address:elsewhere"]) == 0
    # ... but this address is, whoever it tries.
    assert _login(other, "priya", PASSWORD).status_code == 429


def test_a_session_idle_too_long_ends_and_the_login_page_says_so(home, monkeypatch):
    client = client_as(home, "anna")
    assert client.get("/").status_code == 200
    later = time.time() + 15 * 60 + 1
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    answer = client.get("/")
    assert answer.status_code == 303 and "expired=1" in answer.headers["location"]
    assert "Your session has ended" in client.get(answer.headers["location"]).text


def test_a_session_in_use_stays_alive(home, monkeypatch):
    client = client_as(home, "anna")
    now = time.time()
    for minutes in (10, 20, 30):  # every 10 minutes a request: never idle for 15
        monkeypatch.setattr(sessions.time, "time", lambda m=minutes: now + m * 60)
        assert client.get("/").status_code == 200


def test_logout_needs_the_csrf_token_and_ends_the_session(home):
    client = client_as(home, "anna")
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/").status_code == 200  # still logged in
    token = csrf_of(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/").status_code == 303


def test_a_stolen_cookie_is_dead_after_logout(home):
    client = client_as(home, "anna")
    stolen = client.cookies[sessions.SESSION_COOKIE]
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    thief = client_as(home, None)
    thief.cookies.set(sessions.SESSION_COOKIE, stolen)
    assert thief.get("/").status_code == 303


def test_the_store_keeps_no_session_token_and_no_password(home):
    client = client_as(home, "anna")
    token = client.cookies[sessions.SESSION_COOKIE]
    held = b"".join(p.read_bytes() for p in (home / "portal").glob("portal.sqlite*"))
    assert token.encode() not in held
    assert PASSWORD.encode() not in held
    assert b"$argon2id$" in held


def test_login_redirects_only_to_this_site(home):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        client = client_as(home, None)
        token = csrf_of(client.get("/login").text)
        answer = client.post("/login", data={"login": "anna", "password": PASSWORD,
                                             "csrf_token": token, "next": target})
        assert answer.headers["location"] == "/", target


def test_every_answer_carries_the_security_headers(home):
    client = client_as(home, "anna")
    for answer in (client.get("/"), client.get("/login"), client.get("/static/portal.css")):
        for header, value in SECURITY_HEADERS.items():
            assert answer.headers[header] == value
    assert "frame-ancestors 'none'" in SECURITY_HEADERS["Content-Security-Policy"]


def test_accounts_refuse_weak_passwords_and_mismatched_organisations(tmp_path):
    store = PortalStore(tmp_path)
    with pytest.raises(AccountError, match="at least 12"):
        add_user(store, "kim", Role.PRIVACY_OFFICER, "hub", "short")
    with pytest.raises(AccountError, match="CBS code"):
        add_user(store, "kim", Role.MUNICIPALITY, "RN", PASSWORD)
    with pytest.raises(AccountError, match="one of RN, SVG, LJR"):
        add_user(store, "kim", Role.PROBATION_OFFICER, "GM0363", PASSWORD)
    add_user(store, "kim", Role.MUNICIPALITY, "GM0363", PASSWORD)
    assert authenticate(store, "kim", PASSWORD).organisation == "GM0363"
    assert authenticate(store, "kim", PASSWORD + "x") is None


def test_the_portal_database_is_owner_only(home):
    assert (home / "portal" / "portal.sqlite").stat().st_mode & 0o077 == 0
    assert (home / "portal").stat().st_mode & 0o077 == 0
