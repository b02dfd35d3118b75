"""The privacy officer's pages: lineage, the disclosure log, subject access, the register
and the retention plan - the reports of `ketenbrug audit ...` and `retention plan`, built
by the same functions from the same places.

Subject access is one step: the officer posts the request's reference and the person's
BSN and gets the report at once, as a download. Neither the BSN nor the report is kept:
the request is recorded with an HMAC of the BSN (a repeat request is recognisable) and
the SHA-256 of the report handed over (what was handed over can be proven), and the
report is on the disclosure log with the officer as its actor. Nothing here names a
person: log entries hold pseudonymous references and counts only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ketenbrug.audit.graph import load_dbt_manifest
from ketenbrug.audit.lineage_svg import render_svg
from ketenbrug.audit.provenance import FIELD_LEVEL, ProvenanceReport, build_lineage
from ketenbrug.audit.register import build_register
from ketenbrug.audit.subject_access import subject_report
from ketenbrug.config import Settings
from ketenbrug.portal.pages import TEMPLATES, page, posted_form, principal, render
from ketenbrug.portal.rights import Right
from ketenbrug.portal.sessions import access_events
from ketenbrug.portal.warehouse_reads import reading
from ketenbrug.privacy.actor import acting_as
from ketenbrug.privacy.bsn import parse_bsn
from ketenbrug.privacy.disclosure_log import read_log_contents
from ketenbrug.privacy.file_modes import local_secret
from ketenbrug.privacy.log_audit import LogVerdict, verify_audit
from ketenbrug.stewardship.retention import RetentionRefused, plan_retention

router = APIRouter()
PAGE_SIZE = 50
SAR_KEY = "portal-sar.key"
# The diagram carries its own <style>; served as a document of its own it may use that,
# and nothing else (no script, nothing fetched).
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
NO_BSN = ("Dat is geen geldig BSN (9 cijfers die de elfproef doorstaan); controleer het "
          "en probeer het opnieuw.")


# -- lineage --------------------------------------------------------------------------------
class NoAssetGraph(Exception):
    """The portal was started without the code location's asset graph (create_app)."""


def _lineage(request: Request) -> ProvenanceReport:
    settings = request.app.state.settings
    parents = request.app.state.asset_parents
    if parents is None:
        raise NoAssetGraph
    with reading(settings):
        manifest, compiled = load_dbt_manifest(settings.warehouse, settings.home)
        log = settings.disclosure_log if settings.disclosure_log.exists() else None
        return build_lineage(parents(), manifest, compiled=compiled, disclosure_log=log)


@page(router, "GET", "/privacy/lineage", Right.AUDIT_LINEAGE, "Lineage")
def lineage(request: Request) -> Response:
    try:
        report = _lineage(request)
    except NoAssetGraph:
        return render(request, "error.html", status_code=503, heading="Lineage niet beschikbaar",
                      problem="Dit portaal is gestart zonder de assetgraaf van de hub; start "
                              "het met `ketenbrug portal`.")
    return render(request, "privacy_lineage.html", report=report,
                  field_level=report.level == FIELD_LEVEL)


@page(router, "GET", "/privacy/lineage.svg", Right.AUDIT_LINEAGE, "", response_class=Response)
def lineage_svg(request: Request) -> Response:
    try:
        svg = render_svg(_lineage(request))  # in memory: nothing written under the home
    except NoAssetGraph:
        return Response("no asset graph", status_code=503, media_type="text/plain")
    return Response(svg, media_type="image/svg+xml",
                    headers={"Content-Security-Policy": SVG_POLICY})


# -- the disclosure log ---------------------------------------------------------------------
def _verdict(settings: Settings) -> LogVerdict:
    key_path = settings.keys_dir / "hub-signing.pub"
    hub_key = (Ed25519PublicKey.from_public_bytes(key_path.read_bytes())
               if key_path.exists() else None)
    return verify_audit(settings.disclosure_log, hub_key, [])


def _choices(entries: list[dict], pick: Callable[[dict], Any]) -> list[str]:
    return sorted({str(v) for e in entries if (v := pick(e))})


def _subject(entry: dict) -> str | None:
    return (entry.get("actor") or {}).get("subject")


@page(router, "GET", "/privacy/disclosures", Right.AUDIT_DISCLOSURES, "Disclosure log")
def disclosures(request: Request, event: str = "", recipient: str = "", purpose: str = "",
                dataset: str = "", since: str = "", until: str = "", actor: str = "",
                page: int = 1) -> Response:
    settings = request.app.state.settings
    log = settings.disclosure_log
    entries = read_log_contents(log).entries if log.exists() else []
    choices = {"event": _choices(entries, lambda e: e.get("event")),
               "recipient": _choices(entries, lambda e: e.get("recipient")),
               "purpose": _choices(entries, lambda e: e.get("purpose")),
               "dataset": sorted({str(d) for e in entries
                                  for d in e.get("source_datasets") or []}),
               "actor": _choices(entries, _subject)}
    filters = {"event": event, "recipient": recipient, "purpose": purpose,
               "dataset": dataset, "since": since, "until": until, "actor": actor.strip()}
    chosen = [e for e in reversed(entries) if _matches(e, filters)]  # newest first
    pages = max(1, -(-len(chosen) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    return render(request, "privacy_disclosures.html", verdict=_verdict(settings),
                  entries=chosen[(page - 1) * PAGE_SIZE:page * PAGE_SIZE], total=len(chosen),
                  page=page, pages=pages, choices=choices, filters=filters,
                  query=urlencode({k: v for k, v in filters.items() if v}),
                  refused=access_events(request.app.state.store, outcome="denied"))


def _matches(entry: dict, wanted: dict[str, str]) -> bool:
    day = str(entry.get("at", ""))[:10]  # ISO dates compare as text
    return ((not wanted["event"] or entry.get("event") == wanted["event"])
            and (not wanted["recipient"] or entry.get("recipient") == wanted["recipient"])
            and (not wanted["purpose"] or entry.get("purpose") == wanted["purpose"])
            and (not wanted["dataset"]
                 or wanted["dataset"] in (entry.get("source_datasets") or []))
            and (not wanted["since"] or day >= wanted["since"])
            and (not wanted["until"] or day <= wanted["until"])
            and (not wanted["actor"] or _subject(entry) == wanted["actor"]))


# -- subject access (GDPR art. 15) ----------------------------------------------------------
def _requests_page(request: Request, status_code: int = 200, problem: str | None = None,
                   reference: str = "") -> Response:
    with request.app.state.store.connect() as con:
        requests = [dict(r) for r in con.execute(
            "select reference, requested_by, requested_at, status, handled_by, handled_at, "
            "report_sha256 from subject_access_requests order by id desc limit 200")]
    return render(request, "privacy_subject_access.html", status_code=status_code,
                  requests=requests, problem=problem, reference=reference)


@page(router, "GET", "/privacy/subject-access", Right.HANDLE_SUBJECT_ACCESS, "Inzageverzoeken")
def subject_access(request: Request) -> Response:
    return _requests_page(request)


@page(router, "POST", "/privacy/subject-access", Right.HANDLE_SUBJECT_ACCESS, "",
      response_class=Response)
def answer_subject_access(request: Request, form: Annotated[FormData, Depends(posted_form)]
                          ) -> Response:
    officer = principal(request)
    settings = request.app.state.settings
    reference = str(form.get("reference") or "").strip()[:80]
    typed = str(form.get("bsn") or "")
    if not reference:
        return _requests_page(request, 422, "Geef het kenmerk van het verzoek.")
    try:
        bsn = parse_bsn(typed)
    except ValueError:
        return _requests_page(request, 422, NO_BSN, reference)
    try:
        with reading(settings), acting_as(officer.actor()):
            report = subject_report(bsn, settings)
    except ValueError as refused:
        # Said as the hub says it, unless it would repeat the number.
        message = str(refused)
        if bsn in re.sub(r"[ .]", "", message) or (typed.strip() and typed.strip() in message):
            message = "het rapport kon niet worden opgesteld voor dit BSN"
        return _requests_page(request, 422, f"Geen rapport: {message}.", reference)
    as_json = form.get("format") == "json"
    body = (json.dumps(report, indent=2, default=str, sort_keys=True).encode() if as_json
            else _report_document(reference, report, officer.subject))
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with request.app.state.store.connect() as con:
        con.execute("insert into subject_access_requests (reference, bsn_hash, requested_by, "
                    "requested_at, status, handled_by, handled_at, report_sha256) "
                    "values (?, ?, ?, ?, 'answered', ?, ?, ?)",
                    [reference, _bsn_hash(settings, bsn), officer.subject, now,
                     officer.subject, now, hashlib.sha256(body).hexdigest()])
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", reference).strip("_")[:60] or "verzoek"
    suffix, media = ("json", "application/json") if as_json else (
        "html", "text/html; charset=utf-8")
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="inzage-{name}.{suffix}"',
        "Cache-Control": "no-store"})


def _report_document(reference: str, report: dict, officer: str) -> bytes:
    """The report as one printable HTML document for the data subject: no link, no
    script, nothing fetched, so it reads the same offline, printed or saved as PDF."""
    return TEMPLATES.get_template("privacy_subject_report.html").render(
        reference=reference, report=report, made_at=datetime.now(UTC), made_by=officer
    ).encode()


def _bsn_hash(settings: Settings, bsn: str) -> str:
    """An HMAC of the BSN under a random key of this hub's own (made on first use): a
    repeat request is recognisable, yet the stored value cannot be tried against BSNs."""
    key = local_secret(settings.keys_dir / SAR_KEY)
    return hmac.new(key, bsn.encode(), hashlib.sha256).hexdigest()


# -- the register and retention -------------------------------------------------------------
@page(router, "GET", "/privacy/register", Right.READ_REGISTER, "Verwerkingsregister")
def register(request: Request) -> Response:
    return render(request, "privacy_register.html", activities=build_register())


@page(router, "GET", "/privacy/retention", Right.PLAN_RETENTION, "Bewaartermijnen")
def retention(request: Request, as_of: str = "") -> Response:
    settings = request.app.state.settings
    problem = None
    try:
        on = date.fromisoformat(as_of) if as_of.strip() else date.today()
    except ValueError:
        on, problem = date.today(), "Dat is geen datum (JJJJ-MM-DD); hieronder: vandaag."
    plan = None
    try:
        with reading(settings):
            plan = plan_retention(settings.warehouse, settings.vault, settings.keys_dir,
                                  settings.outbox_dir, on)
    except RetentionRefused as refused:
        problem = f"Geen plan: {refused}"
    return render(request, "privacy_retention.html", plan=plan, as_of=on.isoformat(),
                  problem=problem)
