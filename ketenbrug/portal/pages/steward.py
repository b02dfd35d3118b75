"""The data steward's pages: quarantined batches and the two ways out, contract failures.

A decision is taken exactly as `ketenbrug quarantine release|drop` takes it - a reason
required, the hub held while it is written (stewardship/writers.py), the decision kept
in the ledger - with the logged-in steward as the one who decided, not the account the
portal runs under. Pages show rules, counts and record keys, never record contents.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from ketenbrug import run_lock
from ketenbrug.portal.pages import page, posted_form, principal, render
from ketenbrug.portal.rights import Right
from ketenbrug.portal.warehouse_reads import reading
from ketenbrug.privacy.actor import acting_as
from ketenbrug.stewardship.contract_failures import contract_failures
from ketenbrug.stewardship.quarantine import (
    QuarantineError,
    drop_batch,
    list_batches,
    release_batch,
    show_batch,
)
from ketenbrug.stewardship.writers import holding_hub

router = APIRouter()
STATUSES = ("quarantined", "released", "dropped", "passed", "all")
DONE = {"released": "Vrijgegeven: de volgende run publiceert de records.",
        "dropped": "Verworpen: de records zijn afgewezen met uw reden; de volgende pull "
                   "vraagt ze opnieuw op bij de bron."}


@page(router, "GET", "/steward/quarantine", Right.STEWARD_QUARANTINE, "Quarantaine")
def quarantine(request: Request, status: str = "quarantined") -> Response:
    settings = request.app.state.settings
    status = status if status in STATUSES else "quarantined"
    with reading(settings):
        batches = list_batches(settings.warehouse, status)
    return render(request, "steward_quarantine.html", batches=batches, status=status,
                  statuses=STATUSES, dagster_ui=settings.portal("dagster_ui_url"))


@page(router, "GET", "/steward/quarantine/{batch_id}", Right.STEWARD_QUARANTINE, "")
def batch(request: Request, batch_id: str, done: str = "") -> Response:
    return _batch_page(request, batch_id, notice=DONE.get(done))


def _batch_page(request: Request, batch_id: str, status_code: int = 200,
                problem: str | None = None, notice: str | None = None) -> Response:
    settings = request.app.state.settings
    try:
        with reading(settings):
            report = show_batch(settings.warehouse, batch_id)
    except QuarantineError as missing:
        return render(request, "error.html", status_code=404, heading="Batch niet gevonden",
                      problem=f"{missing}.")
    rules = (report.ledger.get("verdict") or "nog niet beoordeeld").split("; ")
    return render(request, "steward_batch.html", status_code=status_code, batch_id=batch_id,
                  ledger=report.ledger, rules=rules, rejections=report.rejections,
                  decisions=report.decisions, problem=problem, notice=notice)


@page(router, "POST", "/steward/quarantine/{batch_id}/release", Right.STEWARD_QUARANTINE, "")
def release(request: Request, batch_id: str,
            form: Annotated[FormData, Depends(posted_form)]) -> Response:
    return _decide(request, batch_id, "released", str(form.get("reason", "")))


@page(router, "POST", "/steward/quarantine/{batch_id}/drop", Right.STEWARD_QUARANTINE, "")
def drop(request: Request, batch_id: str,
         form: Annotated[FormData, Depends(posted_form)]) -> Response:
    return _decide(request, batch_id, "dropped", str(form.get("reason", "")))


def _decide(request: Request, batch_id: str, decision: str, reason: str) -> Response:
    steward = principal(request)
    settings = request.app.state.settings
    if not reason.strip():
        return _batch_page(request, batch_id, 422, "Een besluit over een batch in "
                           "quarantaine heeft een reden nodig.")
    act = release_batch if decision == "released" else drop_batch
    try:
        with holding_hub(settings, f"quarantine {decision} (portal, {steward.subject})"), \
                acting_as(steward.actor()):
            act(settings.warehouse, batch_id, reason.strip(), steward.subject)
    except run_lock.HubBusy as busy:
        return render(request, "busy.html", status_code=503, holder=str(busy))
    except QuarantineError as refused:
        return _batch_page(request, batch_id, 409, f"Niet uitgevoerd: {refused}")
    return RedirectResponse(f"/steward/quarantine/{batch_id}?done={decision}", status_code=303)


@page(router, "GET", "/steward/contracts", Right.READ_CONTRACT_FAILURES, "Contractfouten")
def contracts(request: Request) -> Response:
    settings = request.app.state.settings
    with reading(settings):
        rules, rejections = contract_failures(settings.warehouse)
    return render(request, "steward_contracts.html", rules=rules, rejections=rejections)
