"""FHIR R4 searchsets as the specification has them, read with fhir.resources' R4B models.

What the care connector takes from one page (https://hl7.org/fhir/R4/search.html):
- the entries whose `search.mode` is `match`: the EpisodeOfCare resources searched for;
- those of mode `include`: resources the server added because the search asked for them
  (`_include=EpisodeOfCare:patient`), of which only a Patient's BSN is read;
- those of mode `outcome`: an OperationOutcome about the search; an error or fatal issue
  fails the pull, a warning is counted.
Without `search.mode` (it is optional) an EpisodeOfCare is a match, anything else an
include. `Bundle.total` is optional and not read. The envelope, every Patient and every
OperationOutcome are validated with the R4B models; the models do not check code
bindings, so the codes this module relies on (Bundle.type, search.mode, issue severity)
are checked here. An EpisodeOfCare is not model-validated: it is one record, which the
manifest's allowlist and the dataset's contract account for (a drifted episode is
quarantined with the rule it broke instead of failing its page).

Messages name entries by index and violations by path and type, never by value: a
Patient holds names, addresses and numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from ketenbrug.connectors.body import Body, SourceError, json_type

BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
SEARCH_MODES = ("match", "include", "outcome")
FAILING_SEVERITIES = ("fatal", "error")
_MAX_VIOLATIONS = 3
# The value sets of OperationOutcome.issue (https://hl7.org/fhir/R4/operationoutcome.html).
ISSUE_SEVERITIES = frozenset({"fatal", "error", "warning", "information"})
ISSUE_TYPES = frozenset({
    "invalid", "structure", "required", "value", "invariant", "security", "login", "unknown",
    "expired", "forbidden", "suppressed", "processing", "not-supported", "duplicate",
    "multiple-matches", "not-found", "deleted", "too-long", "code-invalid", "extension",
    "too-costly", "business-rule", "conflict", "transient", "lock-error", "no-store",
    "exception", "timeout", "incomplete", "throttled", "informational"})
OUTCOME_CODES = "http://terminology.hl7.org/CodeSystem/operation-outcome"
_CODE = re.compile(r"[A-Z][A-Z0-9_]{2,63}")
_FHIRPATH = re.compile(r"[A-Z][A-Za-z]{1,63}(\.[a-z_][A-Za-z0-9_]{0,63}(\[\d+\])?){1,8}")


@dataclass
class Searchset:
    """One page of a search: the matches as received, the included Patients' BSNs by
    reference (full URL and `Patient/<id>`), the `next` link as sent, and the warnings
    the server's outcome entries carried (as `code` texts)."""

    matches: list[dict[str, Any]] = field(default_factory=list)
    patient_bsns: dict[str, str | None] = field(default_factory=dict)
    next_link: str | None = None
    warnings: list[str] = field(default_factory=list)


def read_searchset(body: Body, match_type: str = "EpisodeOfCare") -> Searchset:
    """Read a searchset Bundle; refuse (SourceError) another resource, another Bundle
    type, a resource the models refuse, or an outcome with an error."""
    resource_type = body.data.get("resourceType")
    if resource_type == "OperationOutcome":
        raise body.wrong(f"answered an OperationOutcome: {outcome_summary(body.data)}")
    if resource_type != "Bundle":
        raise body.wrong("body is not a FHIR Bundle (resourceType "
                         f"{resource_type!r})" if isinstance(resource_type, str) else
                         "body has no FHIR 'resourceType'")
    entries = body.objects("entry", optional=True)
    resources = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            raise body.wrong(f"entry[{index}] has no 'resource' object" if resource is None
                             else f"entry[{index}]'s 'resource' is {json_type(resource)}, "
                             "not an object")
        if not isinstance(resource.get("resourceType"), str):
            raise body.wrong(f"entry[{index}]'s resource has no 'resourceType'")
        resources.append(resource)
    bundle = _validated(body, "the Bundle", Bundle, {
        **{k: v for k, v in body.data.items() if k != "entry"},
        "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]})
    if bundle.type != "searchset":
        raise body.wrong("Bundle.type is not 'searchset'")
    page = Searchset(next_link=next(
        (link.url for link in bundle.link or () if link.relation == "next"), None))
    for index, (entry, resource) in enumerate(zip(bundle.entry or (), resources, strict=True)):
        kind = resource.get("resourceType")
        mode = entry.search.mode if entry.search and entry.search.mode else (
            "match" if kind == match_type else "include")
        if mode not in SEARCH_MODES:
            raise body.wrong(f"entry[{index}].search.mode is not one of {SEARCH_MODES}")
        if mode == "match":
            if kind != match_type:
                raise body.wrong(f"entry[{index}] matches a {_type_name(kind)}, "
                                 f"not a {match_type}")
            page.matches.append(resource)
        elif mode == "outcome":
            _read_outcome(body, index, resource, page.warnings)
        elif kind == "Patient":
            bsn = patient_bsn(body, f"entry[{index}]", resource)
            for reference in _references(entry.fullUrl, resource):
                page.patient_bsns[reference] = bsn
    return page


def patient_bsn(body: Body, where: str, resource: dict[str, Any]) -> str | None:
    """The BSN of a Patient resource (its identifier of NamingSystem BSN_SYSTEM), None if it
    has none. Only the id and identifiers are validated: nothing else is read."""
    if resource.get("resourceType") != "Patient":
        raise body.wrong(f"{where} is a {_type_name(resource.get('resourceType'))}, "
                         "not a Patient")
    patient = _validated(body, where, Patient, {
        "resourceType": "Patient",
        **{k: resource[k] for k in ("id", "identifier") if k in resource}})
    return bsn_of(patient.identifier or ())


def bsn_of(identifiers: Iterable[Any]) -> str | None:
    """The value of the first identifier of the BSN NamingSystem, None when there is none."""
    for identifier in identifiers:
        if identifier.system == BSN_SYSTEM and identifier.value:
            return str(identifier.value)
    return None


def outcome_summary(data: dict[str, Any]) -> str:
    """An OperationOutcome's issues as `severity code (details code) at expression`.

    Diagnostics and texts are left out (a server may echo what it was sent there, a name
    among it), and of the rest only what has the shape of a code or a FHIRPath is shown:
    severity and code from their value sets, details codes of the HL7 operation-outcome
    CodeSystem, expressions like `EpisodeOfCare.patient`.
    """
    try:
        outcome = OperationOutcome.model_validate(data)
    except ValidationError:
        return "one the R4 models refuse"
    issues = []
    for issue in outcome.issue:
        text = (f"{_known(issue.severity, ISSUE_SEVERITIES)} "
                f"{_known(issue.code, ISSUE_TYPES)}")
        codes = [c.code for c in (issue.details.coding or ()) if issue.details
                 and c.system == OUTCOME_CODES and _CODE.fullmatch(str(c.code))] \
            if issue.details else []
        if codes:
            text += f" ({', '.join(str(c) for c in codes)})"
        paths = [str(e) for e in issue.expression or () if _FHIRPATH.fullmatch(str(e))]
        if paths:
            text += f" at {', '.join(paths)}"
        issues.append(text)
    return "; ".join(issues) or "no issues"


def _known(code: object, allowed: frozenset[str]) -> str:
    return str(code) if code in allowed else "(unknown code)"


def _read_outcome(body: Body, index: int, resource: dict[str, Any], warnings: list[str]) -> None:
    if resource.get("resourceType") != "OperationOutcome":
        raise body.wrong(f"entry[{index}] (outcome) is a "
                         f"{_type_name(resource.get('resourceType'))}, not an OperationOutcome")
    outcome = _validated(body, f"entry[{index}]", OperationOutcome, resource)
    if any(issue.severity in FAILING_SEVERITIES for issue in outcome.issue):
        raise body.wrong(f"entry[{index}] is an OperationOutcome: {outcome_summary(resource)}")
    warnings += [_known(issue.code, ISSUE_TYPES) for issue in outcome.issue]


def _references(full_url: str | None, resource: dict[str, Any]) -> list[str]:
    """What an episode may call an included Patient by: its fullUrl and `Patient/<id>`."""
    references = [full_url] if full_url else []
    if isinstance(resource.get("id"), str):
        references.append(f"Patient/{resource['id']}")
    return references


def _validated(body: Body, what: str, model: Any, data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise body.wrong(f"{what} is not valid FHIR R4: {violations(exc)}") from None


def violations(exc: ValidationError) -> str:
    """A model's verdict as `path: message` items, without the values it refused."""
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    items = [f"{'.'.join(str(p) for p in e['loc']) or '(resource)'}: {e['msg']}"
             for e in errors[:_MAX_VIOLATIONS]]
    more = len(errors) - _MAX_VIOLATIONS
    return "; ".join(items) + (f"; and {more} more" if more > 0 else "")


def _type_name(kind: object) -> str:
    return kind if isinstance(kind, str) else "resource without a resourceType"


__all__ = ["BSN_SYSTEM", "Searchset", "SourceError", "bsn_of", "outcome_summary",
           "patient_bsn", "read_searchset", "violations"]
