"""The five simulated source systems as request handlers over a World (see API.md).

Each app answers `handle(path, query, headers)` with a Reply; the HTTP plumbing lives in
server.py. Records are indexed and sorted once, at construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from secrets import compare_digest
from typing import Any
from urllib.parse import urlencode

from simulators.common import ORGANISATIONS
from simulators.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    PAGE_PARAMS,
    ApiError,
    Index,
    fields_param,
    instant_param,
    int_param,
    page_body,
    parse_query,
    record_keys,
)
from simulators.population import World
from simulators.reference import municipalities

JSON = "application/json"
FHIR_JSON = "application/fhir+json"


def _updated(record: dict[str, Any]) -> str:
    return record["updated_at"]


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, JSON-serialisable body and content type."""

    status: int
    body: Any
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()


class App:
    """Base of one source system: auth, /health, and dispatch to `route`."""

    # "bearer": `Authorization: Bearer <token>`; "api_key": `X-API-Key: <key>`.
    auth_scheme = "bearer"

    def __init__(self, credential: str) -> None:
        self.credential = credential
        self.base_url = ""  # set by the server once its port is known

    def handle(self, path: str, query: str, headers: Any) -> Reply:
        """Return the reply for a GET of `path`?`query`: 401/403 for bad credentials,
        404 for unknown paths, 400 for bad parameters."""
        if path == "/health":
            return Reply(200, {"status": "ok"})
        refused = self._refuse_credentials(headers)
        if refused is not None:
            return refused
        try:
            return self.route(path, query)
        except ApiError as exc:
            return Reply(exc.status, {"error": exc.message})

    def route(self, path: str, query: str) -> Reply:
        """Return the reply for an authenticated request; raises ApiError to refuse it."""
        raise ApiError(404, "not found")

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
            return Reply(401, {"error": "credentials missing"}, headers=challenge)
        if not compare_digest(supplied.encode(), self.credential.encode()):
            return Reply(403, {"error": "credentials not accepted"})
        return None


class ProbationApp(App):
    """3RO case systems: /tenants/{org}/clients and /tenants/{org}/orders."""

    _PATH = re.compile(r"/tenants/([^/]+)/(clients|orders)")

    def __init__(self, credential: str, world: World) -> None:
        super().__init__(credential)
        self._indexes: dict[tuple[str, str], Index] = {}
        for org in ORGANISATIONS:
            clients = [r for r in world.probation_clients if r["organisation"] == org]
            orders = [r for r in world.probation_orders if r["organisation"] == org]
            self._indexes[org, "clients"] = Index(clients, "client_id", _updated)
            self._indexes[org, "orders"] = Index(orders, "order_id", _updated)
        self._fields = {
            "clients": record_keys(world.probation_clients),
            "orders": record_keys(world.probation_orders),
        }

    def route(self, path: str, query: str) -> Reply:
        match = self._PATH.fullmatch(path)
        if match is None or (match[1], match[2]) not in self._indexes:
            raise ApiError(404, "not found")
        org, entity = match[1], match[2]
        params = parse_query(query, PAGE_PARAMS | {"fields"})
        body = page_body(self._indexes[org, entity], params)
        if "fields" in params:
            wanted = fields_param(params["fields"], self._fields[entity])
            body["data"] = [{k: v for k, v in r.items() if k in wanted} for r in body["data"]]
        return Reply(200, body)


class DjiApp(App):
    """Prison service: /api/v1/detentions with offset/limit paging."""

    def __init__(self, credential: str, world: World) -> None:
        super().__init__(credential)
        self._index = Index(world.detentions, "registration_number", _updated)

    def route(self, path: str, query: str) -> Reply:
        if path != "/api/v1/detentions":
            raise ApiError(404, "not found")
        params = parse_query(query, {"offset", "limit", "updated_since"})
        offset = int_param(params, "offset", 0, 0)
        limit = int_param(params, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        since = instant_param(params.get("updated_since"), "updated_since")
        items, total = self._index.page(since, offset, limit)
        body = {"items": items, "offset": offset, "limit": limit, "total": total}
        return Reply(200, body)


class WijkteamApp(App):
    """Neighbourhood teams: /municipalities and /municipalities/{code}/involvements."""

    auth_scheme = "api_key"
    _PATH = re.compile(r"/municipalities/([^/]+)/involvements")

    def __init__(self, credential: str, world: World) -> None:
        super().__init__(credential)
        places = municipalities()
        self._listing = [{"municipality_code": m.cbs_code, "name": m.name} for m in places]
        grouped: dict[str, list[dict[str, Any]]] = {m.cbs_code: [] for m in places}
        for record in world.involvements:
            grouped[record["municipality_code"]].append(record)
        self._indexes = {
            code: Index(records, "involvement_id", _updated) for code, records in grouped.items()
        }

    def route(self, path: str, query: str) -> Reply:
        if path == "/municipalities":
            parse_query(query, set())
            return Reply(200, {"data": self._listing})
        match = self._PATH.fullmatch(path)
        if match is None or match[1] not in self._indexes:
            raise ApiError(404, "not found")
        params = parse_query(query, PAGE_PARAMS)
        return Reply(200, page_body(self._indexes[match[1]], params))


class CareApp(App):
    """Care providers, FHIR R4: /fhir/EpisodeOfCare searchset Bundles with `next` links."""

    _PATH = "/fhir/EpisodeOfCare"
    DEFAULT_COUNT = 50

    def __init__(self, credential: str, world: World) -> None:
        super().__init__(credential)
        self._index = Index(world.care_episodes, "id", lambda r: r["meta"]["lastUpdated"])

    def route(self, path: str, query: str) -> Reply:
        if path != self._PATH:
            raise ApiError(404, "not found")
        params = parse_query(query, {"_count", "_lastUpdated", "_getpagesoffset"})
        count = int_param(params, "_count", self.DEFAULT_COUNT, 1, MAX_PAGE_SIZE)
        offset = int_param(params, "_getpagesoffset", 0, 0)
        last_updated = params.get("_lastUpdated")
        since = None
        if last_updated is not None:
            if not last_updated.startswith("ge"):
                raise ApiError(400, "_lastUpdated supports only the 'ge' prefix")
            since = instant_param(last_updated[2:], "_lastUpdated")
        page, total = self._index.page(since, offset, count)
        url = f"{self.base_url}{self._PATH}"
        links = [{"relation": "self", "url": f"{url}?{query}" if query else url}]
        if offset + count < total:
            follow = {"_count": count, "_getpagesoffset": offset + count}
            if last_updated is not None:
                follow["_lastUpdated"] = last_updated
            links.append({"relation": "next", "url": f"{url}?{urlencode(follow)}"})
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": [{"fullUrl": f"{url}/{r['id']}", "resource": r} for r in page],
        }
        return Reply(200, bundle, content_type=FHIR_JSON)


class MunicipalOrdersApp(App):
    """Municipal-funded agreements and the hours booked on them: /agreements, /bookings."""

    def __init__(self, credential: str, world: World) -> None:
        super().__init__(credential)
        self._indexes = {
            "/agreements": Index(world.agreements, "agreement_id", _updated),
            "/bookings": Index(world.bookings, "booking_id", _updated),
        }

    def route(self, path: str, query: str) -> Reply:
        index = self._indexes.get(path)
        if index is None:
            raise ApiError(404, "not found")
        params = parse_query(query, PAGE_PARAMS)
        return Reply(200, page_body(index, params))


APPS: dict[str, type[App]] = {
    "probation": ProbationApp,
    "dji": DjiApp,
    "wijkteam": WijkteamApp,
    "care": CareApp,
    "municipal_orders": MunicipalOrdersApp,
}
