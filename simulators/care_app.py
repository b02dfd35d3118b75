"""The care providers' FHIR R4 server: an EpisodeOfCare search, Patient reads, and errors as
OperationOutcome, the way https://hl7.org/fhir/R4/http.html and search.html describe them.

An episode names its patient in one of the three ways a Reference may, chosen per episode
(by a hash of its id, so it is stable): a logical reference (`identifier`, the BSN, as the
world stores it), a contained Patient (`#p`), or, for half of them, a literal reference
(`Patient/<id>`) whose BSN is only on the Patient resource. The search supports
`_include=EpisodeOfCare:patient` (the Patients come as entries of mode `include`); a
server told not to support it ignores the parameter, as the specification lets servers
do, and a client must read `Patient/<id>` itself. `next` links are absolute or relative
(`FhirStyle`). What is served validates against fhir.resources' R4B models (tested).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from ketenbrug.simulators.app import App, Reply
from ketenbrug.simulators.care import BSN_SYSTEM, patient
from ketenbrug.simulators.paging import (
    MAX_PAGE_SIZE,
    ApiError,
    Index,
    instant_param,
    int_param,
    parse_query,
    repeated,
)

FHIR_JSON = "application/fhir+json"
INCLUDE_PATIENT = "EpisodeOfCare:patient"
SEARCH = "/fhir/EpisodeOfCare"
_PATIENT = re.compile(r"/fhir/Patient/([A-Za-z0-9\-.]{1,64})")
# The OperationOutcome issue code (http://hl7.org/fhir/issue-type) per HTTP status.
_ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
                429: "throttled", 500: "exception", 503: "transient"}


@dataclass(frozen=True)
class FhirStyle:
    """How the server answers where the specification leaves it a choice: `next` links
    absolute or relative to the request URL, and whether `_include` is supported."""

    links: Literal["absolute", "relative"] = "absolute"
    include: bool = True


class CareApp(App):
    """Care providers, FHIR R4: /fhir/EpisodeOfCare searchsets, /fhir/Patient/<id>."""

    DEFAULT_COUNT = 50

    def __init__(self, credential: str, data: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__(credential, data)
        self.style = FhirStyle()
        self._index = Index(data["episodes"], "id", lambda r: r["meta"]["lastUpdated"])
        # A person's Patient id follows the world's order of persons, so it stays the same
        # when the world moves on; a BSN no person has (tampered) is numbered apart.
        order = {person["bsn"]: n for n, person in enumerate(data.get("persons", ()), 1)}
        self._patient_ids: dict[str, str] = {}
        self._persons: dict[str, dict[str, Any] | None] = {}
        persons = {p["bsn"]: p for p in data.get("persons", ())}
        for episode in self._index.records:
            bsn = _logical_bsn(episode)
            if bsn is None or bsn in self._patient_ids:
                continue
            number = order.get(bsn)
            self._patient_ids[bsn] = (f"pat-{number:07d}" if number is not None
                                      else f"pat-x{len(self._patient_ids) + 1:07d}")
            self._persons[bsn] = persons.get(bsn)
        self._bsn_of = {pid: bsn for bsn, pid in self._patient_ids.items()}

    def dataset_of(self, path: str) -> str | None:
        return "episodes" if path == SEARCH else None

    def route(self, path: str, query: str, repeat: bool = False) -> Reply:
        if path == SEARCH:
            return self._search(query, repeat)
        match = _PATIENT.fullmatch(path)
        if match is None or match[1] not in self._bsn_of:
            raise ApiError(404, "no such resource")
        parse_query(query, set())
        return Reply(200, self._patient(match[1]), content_type=FHIR_JSON)

    def error_reply(self, status: int, message: str,
                    headers: tuple[tuple[str, str], ...] = ()) -> Reply:
        return Reply(status, operation_outcome(status, message), content_type=FHIR_JSON,
                     headers=headers)

    def _search(self, query: str, repeat: bool) -> Reply:
        params = parse_query(query, {"_count", "_lastUpdated", "_getpagesoffset", "_include"})
        count = int_param(params, "_count", self.DEFAULT_COUNT, 1, MAX_PAGE_SIZE)
        offset = int_param(params, "_getpagesoffset", 0, 0)
        last_updated = params.get("_lastUpdated")
        since = None
        if last_updated is not None:
            if not last_updated.startswith("ge"):
                raise ApiError(400, "_lastUpdated supports only the 'ge' prefix")
            since = instant_param(last_updated[2:], "_lastUpdated", rfc_3339=False)
        include = params.get("_include")
        if include is not None and include != INCLUDE_PATIENT:
            raise ApiError(400, f"_include supports only {INCLUDE_PATIENT}")
        include = include if self.style.include else None
        page, total = self._index.page(since, *(repeated(offset, count) if repeat
                                                 else (offset, count)))
        service = f"{self.base_url}/fhir"
        entries: list[dict[str, Any]] = []
        referenced: dict[str, None] = {}  # the Patients to include, in order, once each
        for record in page:
            served, patient_id = self._served_episode(record)
            entries.append({"fullUrl": f"{service}/EpisodeOfCare/{record['id']}",
                            "resource": served, "search": {"mode": "match"}})
            if include and patient_id:
                referenced.setdefault(patient_id, None)
        entries += [{"fullUrl": f"{service}/Patient/{pid}", "resource": self._patient(pid),
                     "search": {"mode": "include"}} for pid in referenced]
        applied = {k: v for k, v in params.items() if k != "_include" or include}
        links = [{"relation": "self", "url": self._link(applied)}]
        if offset + count < total:
            follow: dict[str, str] = {**applied, "_count": str(count),
                                      "_getpagesoffset": str(offset + count)}
            links.append({"relation": "next", "url": self._link(follow)})
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": total,
                  "link": links, "entry": entries}
        return Reply(200, bundle, content_type=FHIR_JSON)

    def _link(self, params: dict[str, str]) -> str:
        query = f"?{urlencode(params)}" if params else ""
        if self.style.links == "relative":  # resolved against the request URL, RFC 3986
            return f"EpisodeOfCare{query}"
        return f"{self.base_url}{SEARCH}{query}"

    def _served_episode(self, record: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The episode as served, with its patient named in this episode's way, and the
        id of the Patient it refers to by literal reference (None otherwise)."""
        bsn = _logical_bsn(record)
        if bsn is None:
            return record, None
        patient_id = self._patient_ids[bsn]
        display = record["patient"].get("display")
        way = zlib.crc32(str(record["id"]).encode()) % 4
        if way == 0:
            return record, None
        if way == 1:
            contained = {**self._patient(patient_id), "id": "p"}
            contained.pop("text", None)  # a contained resource carries no narrative
            return {**record, "contained": [contained],
                    "patient": _reference("#p", display)}, None
        return {**record, "patient": _reference(f"Patient/{patient_id}", display)}, patient_id

    def _patient(self, patient_id: str) -> dict[str, Any]:
        bsn = self._bsn_of[patient_id]
        return patient(patient_id, bsn, self._persons[bsn])


def operation_outcome(status: int, message: str) -> dict[str, Any]:
    """An OperationOutcome for an error answer with `status`, `message` as diagnostics."""
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": _ISSUE_CODES.get(status, "processing"),
                       "diagnostics": message}]}


def _reference(reference: str, display: Any) -> dict[str, Any]:
    return {"reference": reference, **({"display": display} if display else {})}


def _logical_bsn(episode: dict[str, Any]) -> str | None:
    """The BSN of an episode's logical patient reference, None when it has no usable one
    (a drifted episode is served as it is)."""
    patient_ref = episode.get("patient")
    if not isinstance(patient_ref, dict):
        return None
    identifier = patient_ref.get("identifier")
    if not isinstance(identifier, dict) or identifier.get("system") != BSN_SYSTEM:
        return None
    value = identifier.get("value")
    return value if isinstance(value, str) and value.strip() else None
