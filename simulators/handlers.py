"""The five simulated source systems as request handlers over a World (see API.md).

Each app answers `handle(path, query, headers)` with a Reply (auth and transport faults in
app.py); the HTTP plumbing lives in server.py. Each app is built from the records it
serves per dataset (`served_data`), indexed and sorted once, at construction.
"""

from __future__ import annotations

import re
from typing import Any

from ketenbrug.simulators.app import App, Reply
from ketenbrug.simulators.care_app import CareApp
from ketenbrug.simulators.common import ORGANISATIONS
from ketenbrug.simulators.paging import (
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
    repeated,
)
from ketenbrug.simulators.population import World
from ketenbrug.simulators.reference import municipalities

# The timestamp field incremental filters and paging order go by.
_UPDATED = "updated_at"


class ProbationApp(App):
    """3RO case systems: /tenants/{org}/clients and /tenants/{org}/orders."""

    openapi_source = "probation"

    _PATH = re.compile(r"/tenants/([^/]+)/(clients|orders)")

    def __init__(self, credential: str, data: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__(credential, data)
        self._indexes: dict[tuple[str, str], Index] = {}
        keys = {"clients": "client_id", "orders": "order_id"}
        for entity, key in keys.items():
            per_org: dict[str, list[dict[str, Any]]] = {org: [] for org in ORGANISATIONS}
            for record in data[entity]:
                per_org[record["organisation"]].append(record)
            for org, records in per_org.items():
                self._indexes[org, entity] = Index(records, key, _UPDATED)
        # Every name some record carries: a drifted record's fields can be asked for too.
        self._fields = {entity: record_keys(data[entity]) for entity in keys}

    def dataset_of(self, path: str) -> str | None:
        match = self._PATH.fullmatch(path)
        return None if match is None or match[1] not in ORGANISATIONS else match[2]

    def route(self, path: str, query: str, repeat: bool = False) -> Reply:
        match = self._PATH.fullmatch(path)
        if match is None or (match[1], match[2]) not in self._indexes:
            raise ApiError(404, "not found")
        org, entity = match[1], match[2]
        params = parse_query(query, PAGE_PARAMS | {"fields"})
        body = page_body(self._indexes[org, entity], params, repeat)
        if "fields" in params:
            wanted = fields_param(params["fields"], self._fields[entity])
            body["data"] = [{k: v for k, v in r.items() if k in wanted} for r in body["data"]]
        return Reply(200, body)


class DjiApp(App):
    """Prison service: /api/v1/detentions with offset/limit paging."""

    openapi_source = "dji"

    def __init__(self, credential: str, data: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__(credential, data)
        self._index = Index(data["detentions"], "registration_number", _UPDATED)

    def dataset_of(self, path: str) -> str | None:
        return "detentions" if path == "/api/v1/detentions" else None

    def route(self, path: str, query: str, repeat: bool = False) -> Reply:
        if path != "/api/v1/detentions":
            raise ApiError(404, "not found")
        params = parse_query(query, {"offset", "limit", "updated_since"})
        offset = int_param(params, "offset", 0, 0)
        limit = int_param(params, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        since = instant_param(params.get("updated_since"), "updated_since")
        if repeat:
            # The body says where its items really start, so a client that trusts the
            # body's offset loses nothing.
            offset, count = repeated(offset, limit)
            items, total = self._index.page(since, offset, count)
        else:
            items, total = self._index.page(since, offset, limit)
        body = {"items": items, "offset": offset, "limit": limit, "total": total}
        return Reply(200, body)


class WijkteamApp(App):
    """Neighbourhood teams: /municipalities and /municipalities/{code}/involvements."""

    auth_scheme = "api_key"
    openapi_source = "wijkteam"
    _PATH = re.compile(r"/municipalities/([^/]+)/involvements")

    def __init__(self, credential: str, data: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__(credential, data)
        places = municipalities()
        self._listing = [{"municipality_code": m.cbs_code, "name": m.name} for m in places]
        grouped: dict[str, list[dict[str, Any]]] = {m.cbs_code: [] for m in places}
        for record in data["involvements"]:
            grouped[record["municipality_code"]].append(record)
        self._indexes = {
            code: Index(records, "involvement_id", _UPDATED) for code, records in grouped.items()
        }

    def dataset_of(self, path: str) -> str | None:
        if path == "/municipalities":
            return "municipalities"
        match = self._PATH.fullmatch(path)
        return None if match is None or match[1] not in self._indexes else "involvements"

    def route(self, path: str, query: str, repeat: bool = False) -> Reply:
        if path == "/municipalities":
            parse_query(query, set())
            return Reply(200, {"data": self._listing})
        match = self._PATH.fullmatch(path)
        if match is None or match[1] not in self._indexes:
            raise ApiError(404, "not found")
        params = parse_query(query, PAGE_PARAMS)
        return Reply(200, page_body(self._indexes[match[1]], params, repeat))


class MunicipalOrdersApp(App):
    """Municipal-funded agreements and the hours booked on them: /agreements, /bookings."""

    openapi_source = "municipal_orders"

    def __init__(self, credential: str, data: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__(credential, data)
        self._indexes = {
            "/agreements": Index(data["agreements"], "agreement_id", _UPDATED),
            "/bookings": Index(data["bookings"], "booking_id", _UPDATED),
        }

    def dataset_of(self, path: str) -> str | None:
        return path[1:] if path in self._indexes else None

    def route(self, path: str, query: str, repeat: bool = False) -> Reply:
        index = self._indexes.get(path)
        if index is None:
            raise ApiError(404, "not found")
        params = parse_query(query, PAGE_PARAMS)
        return Reply(200, page_body(index, params, repeat))


APPS: dict[str, type[App]] = {
    "probation": ProbationApp,
    "dji": DjiApp,
    "wijkteam": WijkteamApp,
    "care": CareApp,
    "municipal_orders": MunicipalOrdersApp,
}


def served_data(world: World) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Return, per source slug, the world's records per dataset, as the apps take them."""
    return {
        "probation": {"clients": world.probation_clients, "orders": world.probation_orders},
        "dji": {"detentions": world.detentions},
        "wijkteam": {"involvements": world.involvements},
        # The persons give the care providers' Patient resources their names and addresses.
        "care": {"episodes": world.care_episodes, "persons": world.persons},
        "municipal_orders": {"agreements": world.agreements, "bookings": world.bookings},
    }
