"""How a portal page is declared: its path, method and the one right it needs.

`page(router, "GET", "/clients", Right.READ_CLIENT_PROFILES)` registers the handler
behind a session and that right (rights.py); a POST page also behind the session's CSRF
token. `PAGES` records every page with its right, so the access matrix is tested over
what is actually served (tests/unit/test_portal_access.py), and a page without a right
cannot exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from ketenbrug.portal.rights import ROLE_LABELS, Principal, Right, Role
from ketenbrug.portal.sessions import Session

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
_WORDS = {"arranged": "geregeld", "not_arranged": "niet geregeld", "unknown": "onbekend",
          "none": "geen", "detained": "gedetineerd", "released": "vrijgelaten",
          "active": "lopend", "waiting": "wachtend", "completed": "afgerond"}


_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?")


def shown(value: Any) -> str:
    """A value as a reader should see it: no None, NaN or NaT; yes/no; Dutch status words."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, str):
        if _TIMESTAMP.fullmatch(value):  # the log's ISO timestamps, as a person reads them
            return shown(datetime.fromisoformat(value))
        return _WORDS.get(value, value) or "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") + (" UTC" if value.utcoffset() == timedelta(0)
                                                   else "")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


TEMPLATES.env.filters["shown"] = shown


@dataclass(frozen=True)
class PageSpec:
    method: str
    path: str
    right: Right
    title: str


PAGES: list[PageSpec] = []


class NotSignedIn(Exception):
    """No live session: the request is sent to the login page."""


class CsrfRefused(Exception):
    """A form posted without its session's CSRF token."""


def signed_in(request: Request) -> Session:
    session = getattr(request.state, "session", None)
    if session is None:
        raise NotSignedIn
    return session


def principal(request: Request) -> Principal:
    return signed_in(request).principal


def _needs(right: Right) -> Callable[[Request], Principal]:
    def check(request: Request) -> Principal:
        who = principal(request)
        who.require(right)
        return who
    return check


async def posted_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matched the session's (else CsrfRefused)."""
    from ketenbrug.portal.sessions import csrf_matches

    form = await request.form()
    token = form.get("csrf_token")
    if not csrf_matches(signed_in(request), token if isinstance(token, str) else None):
        raise CsrfRefused
    return form


def page(router: APIRouter, method: str, path: str, right: Right, title: str,
         **route: Any) -> Callable[[Callable], Callable]:
    """Register the decorated handler as a page (see the module's docstring)."""
    def register(handler: Callable) -> Callable:
        guards = [Depends(_needs(right))]
        if method == "POST":
            guards.append(Depends(posted_form))
        PAGES.append(PageSpec(method, path, right, title))
        router.add_api_route(path, handler, methods=[method], dependencies=guards,
                             response_class=route.pop("response_class", HTMLResponse),
                             **route)
        return handler
    return register


def render(request: Request, template: str, status_code: int = 200, **context: Any
           ) -> Response:
    """A page from its template, with the principal, CSRF token and menu filled in."""
    session = getattr(request.state, "session", None)
    who = session.principal if session else None
    menu = [(p.path, p.title) for p in PAGES
            if p.method == "GET" and who and who.may(p.right) and "{" not in p.path
            and p.title]
    return TEMPLATES.TemplateResponse(request, template, status_code=status_code, context={
        "principal": who, "csrf": session.csrf if session else "", "menu": menu,
        "role_labels": ROLE_LABELS, "Role": Role, **context})
