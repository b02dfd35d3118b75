"""The control API of a running WorldServer, on a port of its own (see API.md).

`ketenbrug world advance` and `ketenbrug world faults` reach a server started by
`ketenbrug world serve` through it. Bearer-token auth, as the source systems.
"""

from __future__ import annotations

import json
from secrets import compare_digest
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from ketenbrug.simulators.app import Reply
from ketenbrug.simulators.paging import ApiError, int_param
from ketenbrug.simulators.server import _Handler

if TYPE_CHECKING:
    from ketenbrug.simulators.server import WorldServer

# A fault spec is short; anything longer is refused before it is read.
_MAX_BODY = 64 * 1024


class AdminApp:
    """Answers GET /_admin/status, POST /_admin/advance?days=N[&seed=S] and
    POST /_admin/faults (body: a fault spec as text; empty clears the faults)."""

    def __init__(self, server: WorldServer) -> None:
        self.server = server

    def handle(self, method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        """Return the reply; 401/403 for bad credentials, 404/405 for unknown routes,
        400 for bad parameters or a fault spec that does not parse."""
        token = (headers.get("Authorization") or "").partition(" ")[2].strip()
        if not token:
            return Reply(401, {"error": "credentials missing"})
        if not compare_digest(token.encode(), (self.server.admin_token or "").encode()):
            return Reply(403, {"error": "credentials not accepted"})
        routes = {"/_admin/status": "GET", "/_admin/advance": "POST", "/_admin/faults": "POST"}
        if path not in routes:
            return Reply(404, {"error": "not found"})
        if method != routes[path]:
            return Reply(405, {"error": "method not allowed"}, headers=(("Allow", routes[path]),))
        params = {k: v[0] for k, v in parse_qs(query).items()}
        try:
            if path == "/_admin/advance":
                days = int_param(params, "days", 1, 1, 3660)
                seed = int_param(params, "seed", 0, 0) if "seed" in params else None
                changed = self.server.advance(days, seed)
                counts = {name: len(keys) for name, keys in changed.items()}
                return Reply(200, {**self.status(), "changed": counts})
            if path == "/_admin/faults":
                try:
                    self.server.set_faults(body.decode("utf-8"))
                except ValueError as exc:
                    raise ApiError(400, str(exc)) from None
        except ApiError as exc:
            return Reply(exc.status, {"error": exc.message})
        return Reply(200, self.status())

    def status(self) -> dict[str, Any]:
        """Return what the running world is: its day, version, size and faults."""
        server = self.server
        return {
            "today": server.world.today.isoformat(),
            "version": server.world.version,
            "clients": len(server.world.persons),
            "base_urls": server.base_urls,
            "faults": str(server.faults),
            "fault_report": server.fault_report,
            "served_faults": server.served_faults(),
        }


class AdminHandler(_Handler):
    """Reads GET and POST (with a small body) and hands them to the AdminApp."""

    def do_GET(self) -> None:
        self._admin("GET")

    def do_POST(self) -> None:
        self._admin("POST")

    def _admin(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.close_connection = True
            self._send(Reply(413, {"error": "body too large"}))
            return
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        app: AdminApp = self.server.app  # type: ignore[attr-defined]
        try:
            reply = app.handle(method, url.path, url.query, self.headers, body)
        except Exception as exc:  # an admin bug must reach the operator, not hang
            reply = Reply(500, {"error": f"internal error: {type(exc).__name__}"})
        self._send(reply)


def admin_request(url: str, token: str, method: str, path: str, body: str = "") -> dict:
    """Call the control API at `url` and return its JSON answer; raises RuntimeError with
    the server's error message for any status but 200."""
    import requests

    response = requests.request(method, url + path, data=body.encode(), timeout=(3, 600),
                                headers={"Authorization": f"Bearer {token}"})
    payload = json.loads(response.text or "{}")
    if response.status_code != 200:
        raise RuntimeError(f"{path}: {response.status_code} {payload.get('error', '')}")
    return payload
