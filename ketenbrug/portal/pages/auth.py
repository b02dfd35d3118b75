"""Logging in and out, and the home page each role lands on.

Local accounts post a form (login CSRF: a random token in a `__Host-` cookie that the
form must echo, since there is no session yet); the organisations' identity providers
log people in by OpenID Connect (authorization code flow through authlib, the ID token
checked against the provider's published keys). The role and organisation come from the
provider's claims `ketenbrug_role` and `ketenbrug_organisation`; a login without them,
or with ones that do not go together, is refused.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from ketenbrug.config import Settings
from ketenbrug.portal.accounts import authenticate
from ketenbrug.portal.pages import posted_form, render, signed_in
from ketenbrug.portal.rights import BadPrincipal, Principal, Role
from ketenbrug.portal.sessions import (
    SESSION_COOKIE,
    clear_failures,
    end_session,
    record_access,
    record_failure,
    start_session,
    throttled_for,
)
from ketenbrug.privacy.file_modes import local_secret

router = APIRouter()
LOGIN_COOKIE = "__Host-ketenbrug-login"
ROLE_CLAIM, ORGANISATION_CLAIM = "ketenbrug_role", "ketenbrug_organisation"


@router.get("/login")
def login_form(request: Request, next: str = "/", expired: str = "") -> Response:
    # One token per browser: a second login page (another tab, a redirected asset
    # request) must not invalidate the form already shown.
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "login.html", next=_local(next), login_csrf=token,
                      expired=bool(expired), oidc=request.app.state.oidc is not None)
    response.set_cookie(LOGIN_COOKIE, token, path="/", secure=True, httponly=True,
                        samesite="strict", max_age=1800)
    return response


@router.post("/login")
def login(request: Request, login: str = Form(""), password: str = Form(""),
          csrf_token: str = Form(""), next: str = Form("/")) -> Response:
    store = request.app.state.store
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        record_access(store, None, "POST", "/login", "csrf_refused")
        return _login_again(request, next, "This form was not sent from the login page; "
                                           "it has been reloaded, try again.", 403)
    keys = [f"login:{login}", f"address:{request.client.host if request.client else '-'}"]
    wait = throttled_for(store, keys)
    if wait:
        record_access(store, None, "POST", "/login", "throttled", login[:64])
        return _login_again(request, next, f"Too many failed logins: try again in "
                                           f"{(wait + 59) // 60} minute(s).", 429)
    who = authenticate(store, login, password)
    if who is None:
        record_failure(store, keys)
        record_access(store, None, "POST", "/login", "login_failed")
        return _login_again(request, next, "Login name or password is wrong.", 401)
    clear_failures(store, keys[:1])
    return _signed_in_as(request, who, next)


@router.post("/logout", dependencies=[Depends(posted_form)])
def logout(request: Request) -> Response:
    store = request.app.state.store
    record_access(store, signed_in(request).principal, "POST", "/logout", "logout")
    end_session(store, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True)
    return response


@router.get("/", dependencies=[Depends(signed_in)])
def home(request: Request) -> Response:
    return render(request, "home.html")


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


def _signed_in_as(request: Request, who: Principal, next: str) -> Response:
    store = request.app.state.store
    token = start_session(store, who)
    record_access(store, who, "POST", "/login", "login", who.via)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, path="/", secure=True, httponly=True,
                        samesite="lax")
    response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True)
    return response


def _login_again(request: Request, next: str, problem: str, status: int) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", status_code=status, next=_local(next),
                      login_csrf=token, problem=problem,
                      oidc=request.app.state.oidc is not None)
    response.set_cookie(LOGIN_COOKIE, token, path="/", secure=True, httponly=True,
                        samesite="strict", max_age=1800)
    return response


def _local(target: str) -> str:
    """`target` if it is a path on this site, else "/": no open redirect after login."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return "/"
    return target


# -- OpenID Connect ---------------------------------------------------------------------------
def install_oidc(app: FastAPI, settings: Settings) -> None:
    """Wire the identity provider's login when `oidc_issuer` is set."""
    app.state.oidc = None
    issuer = settings.portal("oidc_issuer")
    if not issuer:
        return
    from authlib.integrations.starlette_client import OAuth
    from starlette.middleware.sessions import SessionMiddleware

    oauth = OAuth()
    app.state.oidc = oauth.register(
        "idp", client_id=settings.portal("oidc_client_id"),
        client_secret=settings.portal("oidc_client_secret"),
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile"})
    # The flow's state and nonce between the redirect and the callback (signed cookie).
    app.add_middleware(SessionMiddleware, secret_key=_cookie_secret(settings.home),
                       session_cookie="__Host-ketenbrug-oidc", same_site="lax",
                       https_only=True, max_age=600)


def _cookie_secret(home: Path) -> str:
    return local_secret(home / "portal" / "oidc-state.key").hex()


@router.get("/login/oidc")
async def oidc_login(request: Request, next: str = "/") -> Response:
    client = request.app.state.oidc
    if client is None:
        return RedirectResponse("/login", status_code=303)
    request.session["next"] = _local(next)
    return await client.authorize_redirect(request, str(request.url_for("oidc_callback")))


@router.get("/login/oidc/callback", name="oidc_callback")
async def oidc_callback(request: Request) -> Response:
    from authlib.integrations.base_client import OAuthError
    from joserfc.errors import JoseError

    client, store = request.app.state.oidc, request.app.state.store
    if client is None:
        return RedirectResponse("/login", status_code=303)
    try:
        token = await client.authorize_access_token(request)
    except (OAuthError, JoseError) as refused:
        # A bad signature, issuer, audience or nonce is a JoseError from the ID token's
        # check: a refused login like any other, never a crash.
        reason = refused.error or type(refused).__name__
        record_access(store, None, "GET", "/login/oidc/callback", "login_failed", reason)
        return _login_again(request, "/", f"The identity provider's answer was refused "
                                          f"({reason}).", 401)
    claims = token.get("userinfo") or {}
    try:
        who = Principal(str(claims["sub"]), Role(claims.get(ROLE_CLAIM, "")),
                        str(claims.get(ORGANISATION_CLAIM, "")), "portal-oidc")
    except (KeyError, ValueError, BadPrincipal) as bad:
        record_access(store, None, "GET", "/login/oidc/callback", "login_failed",
                      f"claims: {bad}")
        return _login_again(request, "/", f"Your identity provider gave no usable role and "
                                          f"organisation for Ketenbrug ({bad}).", 403)
    return _signed_in_as(request, who, request.session.pop("next", "/"))
