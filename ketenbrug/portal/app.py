"""The portal's application: sessions, security headers, the pages, and how refusals look.

Every request but the login page's and the static files' needs a live session; every page
a right (pages/__init__.py). A denial is a 403 naming the missing right, recorded with who
asked; a form without its CSRF token is a 403 too. Responses carry a strict CSP (no
inline script or style, nothing from elsewhere, no framing), no referrer, and no-store:
pages hold personal data and must not stay in a shared browser's cache.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ketenbrug.config import Settings
from ketenbrug.portal.pages import CsrfRefused, NotSignedIn, render
from ketenbrug.portal.rights import Denied
from ketenbrug.portal.sessions import SESSION_COOKIE, record_access, resume_session
from ketenbrug.portal.store import PortalStore
from ketenbrug.portal.warehouse_reads import WarehouseBusy

log = logging.getLogger("ketenbrug.portal")

PUBLIC_PREFIXES = ("/login", "/static/", "/healthz", "/favicon.ico")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def create_app(settings: Settings,
               asset_parents: Callable[[], Mapping[str, tuple[str, ...]]] | None = None
               ) -> FastAPI:
    """The portal for the hub of `settings`. `asset_parents` gives the code location's
    asset graph for the lineage page (pipelines/asset_graph.py, wired by the CLI: the
    portal itself never imports Dagster's definitions)."""
    from ketenbrug.portal.pages import auth, municipality, officer, privacy_officer, steward

    app = FastAPI(title="Ketenbrug portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.store = PortalStore(settings.home)
    app.state.asset_parents = asset_parents
    app.state.idle_s = int(settings.portal("portal_idle_minutes")) * 60
    for module in (auth, officer, municipality, privacy_officer, steward):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    auth.install_oidc(app, settings)

    @app.middleware("http")
    async def session_and_headers(request: Request, call_next) -> Response:
        request.state.session = resume_session(
            app.state.store, request.cookies.get(SESSION_COOKIE), app.state.idle_s)
        if request.state.session is None and not request.url.path.startswith(PUBLIC_PREFIXES):
            response: Response = _to_login(request)
        else:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():  # a response may narrow its own CSP
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _: NotSignedIn) -> Response:
        return _to_login(request)

    @app.exception_handler(Denied)
    async def denied(request: Request, refusal: Denied) -> Response:
        record_access(app.state.store, refusal.principal, request.method, request.url.path,
                      "denied", refusal.right.value)
        log.warning("denied %s %s to %s (%s %s): needs %r", request.method, request.url.path,
                    refusal.principal.subject, refusal.principal.role.value,
                    refusal.principal.organisation, refusal.right.value)
        return render(request, "denied.html", status_code=403, reason=str(refusal))

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _: CsrfRefused) -> Response:
        who = request.state.session.principal if request.state.session else None
        record_access(app.state.store, who, request.method, request.url.path, "csrf_refused")
        return render(request, "denied.html", status_code=403,
                      reason="this form was not sent from a page of this session (its CSRF "
                             "token is missing or wrong); reload the page and send it again")

    @app.exception_handler(WarehouseBusy)
    async def busy(request: Request, holder: WarehouseBusy) -> Response:
        return render(request, "busy.html", status_code=503, holder=str(holder))

    return app


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    expired = request.cookies.get(SESSION_COOKIE) is not None
    url = f"/login?next={quote(target, safe='')}" + ("&expired=1" if expired else "")
    response = RedirectResponse(url, status_code=303)
    if expired:
        response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True)
    return response
