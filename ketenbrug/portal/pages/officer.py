"""The probation officer's pages: the caseload, finding a client, the client file.

Everything is of the officer's own organisation (the principal's), never one named in a
URL; a client of another organisation is "not found", exactly as one that does not
exist, so the portal does not tell an officer who is another organisation's client.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ketenbrug.delivery.caseload import (
    BASICS,
    DETENTION_STATUSES,
    FILTERS,
    ClientNotFound,
    find_client,
    read_caseload,
    read_client_file,
)
from ketenbrug.portal.pages import page, principal, render
from ketenbrug.portal.rights import PROBATION_ORGANISATIONS, Right
from ketenbrug.portal.warehouse_reads import reading
from ketenbrug.privacy.actor import acting_as

router = APIRouter()
BASIC_LABELS = {"valid_id": "Geldig identiteitsbewijs", "housing": "Huisvesting",
                "income": "Inkomen", "debts": "Schulden", "care": "Zorg"}


@page(router, "GET", "/clients", Right.READ_CLIENT_PROFILES, "Cliënten")
def caseload(request: Request, q: str = "", detention: str = "", condition: str = "",
             page: int = 1) -> Response:
    officer = principal(request)
    settings = request.app.state.settings
    problem = None
    with reading(settings), acting_as(officer.actor()):
        if q.strip():
            try:
                found = find_client(settings, officer.organisation, q)
            except ClientNotFound as missing:
                problem = f"{missing}."
            else:
                return RedirectResponse(f"/clients/{found}", status_code=303)
        listed = read_caseload(settings, officer.organisation, detention=detention,
                               condition=condition, page=page)
    return render(request, "officer_caseload.html", caseload=listed, q=q,
                  detention=detention, condition=condition, problem=problem,
                  detention_statuses=DETENTION_STATUSES, filters=FILTERS, basics=BASICS,
                  basic_labels=BASIC_LABELS,
                  organisation_name=PROBATION_ORGANISATIONS[officer.organisation],
                  status_code=404 if problem else 200)


@page(router, "GET", "/clients/{pseudonym}", Right.READ_CLIENT_PROFILES, "")
def client_file(request: Request, pseudonym: str) -> Response:
    officer = principal(request)
    settings = request.app.state.settings
    with reading(settings), acting_as(officer.actor()):
        try:
            file = read_client_file(settings, officer.organisation, pseudonym)
        except ClientNotFound as missing:
            return render(request, "error.html", status_code=404,
                          heading="Cliënt niet gevonden", problem=f"{missing}.")
    return render(request, "officer_client.html", file=file, basics=BASICS,
                  basic_labels=BASIC_LABELS)
