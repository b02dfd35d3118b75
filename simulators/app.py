"""The base of one simulated source system: auth, /health, transport faults, dispatch."""

from __future__ import annotations

from dataclasses import dataclass, replace
from secrets import compare_digest
from typing import Any
from urllib.parse import parse_qs

from ketenbrug.simulators import openapi
from ketenbrug.simulators.faults import Fault, TransportFaults
from ketenbrug.simulators.paging import ApiError

JSON = "application/json"
# Transport faults that replace the answer outright, and those the HTTP layer carries out.
_STATUS_FAULTS = {"429": 429, "500": 500, "503": 503}
_WIRE_FAULTS = frozenset({"slow", "drop", "truncated", "malformed", "mis_encoded"})
# Query parameters that say a request asks for a page after the first.
_LATER_PAGE = {"page": 1, "offset": 0, "_getpagesoffset": 0}


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, JSON-serialisable body and content type; `fault` is a
    transport fault the HTTP layer must carry out while sending it (slow, drop, ...)."""

    status: int
    body: Any
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()
    fault: Fault | None = None


class App:
    """Base of one source system: auth, /health, transport faults and dispatch to `route`.

    `data` maps each dataset name to the records served (data faults already applied).
    """

    # "bearer": `Authorization: Bearer <token>`; "api_key": `X-API-Key: <key>`.
    auth_scheme = "bearer"
    # The source whose published interface (openapi/<source>.yaml) this system serves at
    # /openapi.json without credentials, as /health; None: a standard is its contract (FHIR).
    openapi_source: str | None = None

    def __init__(self, credential: str, data: dict[str, list[dict[str, Any]]]) -> None:
        self.credential = credential
        self.base_url = ""  # set by the server once its port is known
        self.faults = TransportFaults()

    def handle(self, path: str, query: str, headers: Any) -> Reply:
        """Return the reply for a GET of `path`?`query`: 401/403 for bad credentials,
        404 for unknown paths, 400 for bad parameters, or the transport fault due."""
        if path == "/health":
            return Reply(200, {"status": "ok"})
        if path == openapi.SERVED_AT and self.openapi_source is not None:
            return Reply(200, openapi.document(self.openapi_source))
        refused = self._refuse_credentials(headers)
        if refused is not None:
            return refused
        dataset = self.dataset_of(path)
        fault = None
        if dataset is not None:
            fault = self.faults.take(dataset, path, _later_page(query))
        if fault is not None and fault.kind in _STATUS_FAULTS:
            return self._status_fault(fault)
        try:
            reply = self.route(path, query, repeat=fault is not None and fault.kind == "page_twice")
        except ApiError as exc:
            reply = self.error_reply(exc.status, exc.message)
        if fault is not None and fault.kind in _WIRE_FAULTS:
            reply = replace(reply, fault=fault)
        return reply

    def dataset_of(self, path: str) -> str | None:
        """Return the dataset `path` serves (faults count per dataset), None if unknown."""
        return None

    def route(self, path: str, query: str, repeat: bool = False) -> Reply:
        """Return the reply for an authenticated request; with `repeat`, serve the previous
        page again ahead of the requested one. Raises ApiError to refuse the request."""
        raise ApiError(404, "not found")

    def error_reply(self, status: int, message: str,
                    headers: tuple[tuple[str, str], ...] = ()) -> Reply:
        """The answer for an error: `{"error": message}`; a standard with its own error
        bodies (FHIR's OperationOutcome) overrides it."""
        return Reply(status, {"error": message}, headers=headers)

    def _status_fault(self, fault: Fault) -> Reply:
        if fault.kind == "429":
            seconds = str(int(fault.value or 0))
            return self.error_reply(429, "too many requests", (("Retry-After", seconds),))
        return self.error_reply(_STATUS_FAULTS[fault.kind], "service unavailable (injected)")

    def _refuse_credentials(self, headers: Any) -> Reply | None:
        if self.auth_scheme == "api_key":
            supplied = headers.get("X-API-Key")
            challenge: tuple[tuple[str, str], ...] = ()
        else:
            value = headers.get("Authorization") or ""
            scheme, _, token = value.partition(" ")
            supplied = token.strip() if scheme.lower() == "bearer" else None
            challenge = (("WWW-Authenticate", 'Bearer realm="simulator"'),)
        if not supplied:
            return self.error_reply(401, "credentials missing", challenge)
        if not compare_digest(supplied.encode(), self.credential.encode()):
            return self.error_reply(403, "credentials not accepted")
        return None


def _later_page(query: str) -> bool:
    """Return True when the query asks for a page after the first (page-twice counts only
    those: the first page has no previous one to repeat)."""
    parsed = parse_qs(query)
    for name, first in _LATER_PAGE.items():
        raw = parsed.get(name, [""])[0]
        if raw.isascii() and raw.isdigit() and int(raw) > first:
            return True
    return False
