"""The municipality's pages: its inbox, downloads, receipts, and the key it is sealed to.

Everything is of the principal's own municipality; a file of another is "not in your
inbox", as one that does not exist. A receipt names the exact bytes received (their
SHA-256, as shown when the user chose to acknowledge): if the package was replaced in
between, the acknowledgement is refused rather than confirming something unseen.
Receipts and key registrations are entries in the disclosure log, with the user as actor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from ketenbrug.delivery.inbox import (
    NotInInbox,
    hub_key_file,
    item_of,
    package_file,
    read_inbox,
    statement_file,
)
from ketenbrug.delivery.recipient_keys import (
    KeyRefused,
    fingerprint,
    parse_public_key,
    recipient_public_key,
    register_key,
    registered_key,
    registrations,
)
from ketenbrug.portal.pages import page, posted_form, principal, render
from ketenbrug.portal.rights import Principal, Right
from ketenbrug.portal.sessions import record_access
from ketenbrug.privacy import append_entry, read_log
from ketenbrug.privacy.actor import acting_as

router = APIRouter()
MEDIA_TYPES = {".kbpkg": "application/octet-stream", ".csv": "text/csv; charset=utf-8",
               ".json": "application/json", ".sig": "application/octet-stream",
               ".pub": "application/octet-stream"}


@page(router, "GET", "/gemeente/inbox", Right.RECEIVE_PACKAGES, "Inbox")
def inbox(request: Request, done: str = "") -> Response:
    return _inbox_page(request, notice={"acknowledged": "Ontvangst bevestigd.",
                                        "already": "Deze ontvangst was al bevestigd."
                                        }.get(done))


def _inbox_page(request: Request, status_code: int = 200, problem: str | None = None,
                notice: str | None = None) -> Response:
    who = principal(request)
    settings = request.app.state.settings
    found = read_inbox(settings.outbox_dir, who.organisation, read_log(settings.disclosure_log))
    return render(request, "municipality_inbox.html", status_code=status_code, inbox=found,
                  receipts=_receipts(request, who), problem=problem, notice=notice)


@page(router, "GET", "/gemeente/packages/{name}", Right.RECEIVE_PACKAGES, "")
def download_package(request: Request, name: str) -> Response:
    who = principal(request)
    try:
        path = package_file(request.app.state.settings.outbox_dir, who.organisation, name)
    except NotInInbox as missing:
        return _not_found(request, missing)
    return _download(request, who, path)


@page(router, "GET", "/gemeente/billing/{month}/{file}", Right.RECEIVE_PACKAGES, "")
def download_statement(request: Request, month: str, file: str) -> Response:
    who = principal(request)
    try:
        path = statement_file(request.app.state.settings.outbox_dir, who.organisation,
                              month, file)
    except NotInInbox as missing:
        return _not_found(request, missing)
    return _download(request, who, path, f"billing_{month}_{file}"
                     if file.startswith("manifest") else file)


@page(router, "GET", "/gemeente/hub-signing.pub", Right.RECEIVE_PACKAGES, "")
def download_hub_key(request: Request) -> Response:
    who = principal(request)
    try:
        path = hub_key_file(request.app.state.settings.outbox_dir, who.organisation)
    except NotInInbox as missing:
        return _not_found(request, missing)
    return _download(request, who, path)


@page(router, "POST", "/gemeente/acknowledge", Right.RECEIVE_PACKAGES, "")
def acknowledge(request: Request, form: Annotated[FormData, Depends(posted_form)]
                ) -> Response:
    who = principal(request)
    settings = request.app.state.settings
    item, seen = str(form.get("item", "")), str(form.get("sha256", ""))
    try:
        name, sha256 = item_of(settings.outbox_dir, who.organisation, item)
    except NotInInbox as missing:
        return _inbox_page(request, 404, f"{missing}.")
    if seen != sha256:
        return _inbox_page(request, 409, f"{name} changed since you opened this page; "
                           "download it again and check it before confirming receipt.")
    at = datetime.now(UTC).isoformat(timespec="seconds")
    with request.app.state.store.connect() as con:
        added = con.execute("insert or ignore into receipts values (?, ?, ?, ?, ?)",
                            [who.organisation, name, sha256, who.subject, at]).rowcount
    if added:
        with acting_as(who.actor()):
            append_entry(settings.disclosure_log, {
                "event": "receipt_acknowledged", "recipient": f"municipality:{who.organisation}",
                "item": name, "sha256": sha256})
    return RedirectResponse(f"/gemeente/inbox?done={'acknowledged' if added else 'already'}",
                            status_code=303)


@page(router, "GET", "/gemeente/key", Right.MANAGE_RECIPIENT_KEY, "Sleutel")
def key_page(request: Request, done: str = "") -> Response:
    return _key_page(request, notice="Sleutel geregistreerd: nieuwe pakketten worden "
                     "hiermee versleuteld." if done else None)


def _key_page(request: Request, status_code: int = 200, problem: str | None = None,
              notice: str | None = None) -> Response:
    who = principal(request)
    keys_dir = request.app.state.settings.keys_dir
    registered = registered_key(keys_dir, who.organisation)
    current = registered or recipient_public_key(keys_dir, who.organisation)
    return render(request, "municipality_key.html", status_code=status_code,
                  registered=registered is not None, current=fingerprint(current),
                  history=registrations(keys_dir, who.organisation), problem=problem,
                  notice=notice)


@page(router, "POST", "/gemeente/key", Right.MANAGE_RECIPIENT_KEY, "")
def register(request: Request, form: Annotated[FormData, Depends(posted_form)]) -> Response:
    who = principal(request)
    settings = request.app.state.settings
    try:
        key = parse_public_key(str(form.get("public_key", "")))
        if str(form.get("fingerprint_checked", "")) != "yes":
            raise KeyRefused("confirm that you compared the fingerprint with the one "
                             "your key tool shows")
        done = register_key(settings.keys_dir, who.organisation, key, who.subject)
    except KeyRefused as refused:
        return _key_page(request, 422, f"Niet geregistreerd: {refused}.")
    with acting_as(who.actor()):
        append_entry(settings.disclosure_log, {
            "event": "recipient_key_registered",
            "recipient": f"municipality:{who.organisation}",
            "fingerprint": done.fingerprint, "replaced": done.replaced})
    return RedirectResponse("/gemeente/key?done=1", status_code=303)


def _receipts(request: Request, who: Principal) -> dict[tuple[str, str], dict]:
    with request.app.state.store.connect() as con:
        rows = con.execute("select * from receipts where organisation = ?",
                           [who.organisation]).fetchall()
    return {(r["package"], r["sha256"]): dict(r) for r in rows}


def _download(request: Request, who: Principal, path, filename: str | None = None
              ) -> Response:
    record_access(request.app.state.store, who, "GET", request.url.path, "download")
    return FileResponse(path, filename=filename or path.name,
                        media_type=MEDIA_TYPES.get(path.suffix, "application/octet-stream"))


def _not_found(request: Request, missing: Exception) -> Response:
    return render(request, "error.html", status_code=404, heading="Niet in uw inbox",
                  problem=f"{missing}.")
