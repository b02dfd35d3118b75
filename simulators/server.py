"""WorldServer: the five simulated source systems on real localhost ports."""

from __future__ import annotations

import gc
import json
import secrets
import socketserver
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ketenbrug.simulators.app import App, Reply
from ketenbrug.simulators.care_app import CareApp, FhirStyle
from ketenbrug.simulators.faults import FaultSpec, TransportFaults
from ketenbrug.simulators.handlers import APPS, served_data
from ketenbrug.simulators.population import World
from ketenbrug.simulators.tampering import tamper


class _Handler(BaseHTTPRequestHandler):
    """Hands each GET to the server's App and writes its Reply as JSON, carrying out the
    transport fault the Reply names (slow, drop, truncated, malformed, mis_encoded)."""

    # HTTP/1.1 keeps connections open, so a connector's requests.Session reuses them.
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds an idle kept-alive connection may hold a thread
    # Headers and body go out in two writes; with Nagle on, each reply waits ~40 ms.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "KetenbrugSimulator/1.0"

    def do_GET(self) -> None:
        app: App = self.server.app  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        try:
            reply = app.handle(url.path, url.query, self.headers)
        except Exception:  # a simulator bug must reach the client as a 500, not a hang
            reply = Reply(500, {"error": "internal error"})
        self._send(reply)

    def _refuse_method(self) -> None:
        self._send(Reply(405, {"error": "method not allowed"}, headers=(("Allow", "GET"),)))

    do_POST = do_PUT = do_PATCH = do_DELETE = _refuse_method

    def _send(self, reply: Reply) -> None:
        payload = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode()
        kind = reply.fault.kind if reply.fault is not None else None
        if kind == "drop":
            # Hang up without a status line: the client sees the connection reset.
            self.close_connection = True
            return
        if kind == "slow":
            time.sleep(reply.fault.value or 0)  # type: ignore[union-attr]
        elif kind == "truncated":
            # A well-framed response whose JSON stops halfway, as a cut-off proxy sends it.
            payload = payload[: max(1, len(payload) // 2)]
        elif kind == "malformed":
            payload = payload.replace(b'"', b"'", 1)  # a single-quoted key: not JSON
        content_type = reply.content_type
        if kind == "mis_encoded":
            # Complete and well framed, but "ë" goes out as the one Latin-1 byte 0xEB under
            # a UTF-8 label, as a source with a misconfigured export sends it.
            text = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":"))
            payload = text.encode("latin-1", errors="replace")
            content_type = f"{content_type}; charset=utf-8"
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines carry query strings (timestamps, field lists): print nothing.
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: Any, handler: type = _Handler) -> None:
        self.app = app
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-response are normal in tests; stay quiet.
        return


class WorldServer:
    """Serves a World as five HTTP source systems on 127.0.0.1, one OS-chosen port each.

    After `start()` (or entering the context), `base_urls` maps each slug (probation, dji,
    wijkteam, care, municipal_orders) to "http://127.0.0.1:<port>" and `credentials` maps
    it to the bearer token or API key that system accepts, fresh for every start.
    `faults` (a FaultSpec or its text, see faults.py) are injected from the start;
    `set_faults` changes them on the running server, `advance` moves the world on, and
    `fault_report` says which record keys the data faults altered, per "<slug>.<dataset>".
    `fhir_style` says how the care system's FHIR server answers where the specification
    leaves a choice (relative `next` links, `_include` unsupported: care_app.FhirStyle).
    With `tls` (a server-side SSLContext) the five systems speak HTTPS only, and ask for
    a client certificate when the context does (mutual TLS); `base_urls` are https://.
    With `admin=True` a sixth port serves the control API (admin.py) at `admin_url`,
    accepting `admin_token`.
    """

    def __init__(
        self, world: World, host: str = "127.0.0.1",
        faults: FaultSpec | str | None = None, admin: bool = False,
        fhir_style: FhirStyle | None = None, tls: ssl.SSLContext | None = None,
    ) -> None:
        self.world = world
        self.tls = tls
        self.fhir_style = fhir_style or FhirStyle()
        self.host = host
        self.faults = faults if isinstance(faults, FaultSpec) else FaultSpec.parse(faults)
        self.base_urls: dict[str, str] = {}
        self.credentials: dict[str, str] = {}
        self.fault_report: dict[str, dict[str, list[str]]] = {}
        self.admin_url: str | None = None
        self.admin_token: str | None = None
        self._admin = admin
        self._servers: dict[str, tuple[_Server, threading.Thread]] = {}
        self._transport: dict[str, TransportFaults] = {}
        self._built: dict[str, tuple[Any, App, dict[str, dict[str, list[str]]]]] = {}
        self._lock = threading.RLock()

    def start(self) -> WorldServer:
        """Start all five systems and return self; refuses (RuntimeError) a second start."""
        if self._servers:
            raise RuntimeError("WorldServer is already running")
        try:
            for slug in APPS:
                server = _Server((self.host, 0), None)
                scheme = "http"
                if self.tls is not None:
                    server.socket = self.tls.wrap_socket(server.socket, server_side=True)
                    scheme = "https"
                self.base_urls[slug] = f"{scheme}://{self.host}:{server.server_port}"
                self.credentials[slug] = secrets.token_urlsafe(24)
                self._servers[slug] = (server, threading.Thread())
            self._transport = {slug: TransportFaults(self.faults.transport(slug)) for slug in APPS}
            self._install()  # before serving: no request may meet a system without its App
            for slug, (server, _) in self._servers.items():
                self._servers[slug] = (server, _serve(server, f"simulator-{slug}"))
            if self._admin:
                from ketenbrug.simulators.admin import AdminApp, AdminHandler

                self.admin_token = secrets.token_urlsafe(24)
                server = _Server((self.host, 0), AdminApp(self), AdminHandler)
                self.admin_url = f"http://{self.host}:{server.server_port}"
                self._servers["_admin"] = (server, _serve(server, "simulator-admin"))
        except BaseException:
            self.stop()
            raise
        return self

    def set_faults(self, faults: FaultSpec | str | None) -> dict[str, dict[str, list[str]]]:
        """Replace the injected faults (transport counters start afresh) and return the
        new `fault_report`. Refuses (ValueError) a spec that does not parse."""
        spec = faults if isinstance(faults, FaultSpec) else FaultSpec.parse(faults)
        with self._lock:
            self.faults = spec
            self._transport = {slug: TransportFaults(spec.transport(slug)) for slug in APPS}
            if self._servers:
                self._install()
            return self.fault_report

    def advance(self, days: int = 1, seed: int | None = None) -> dict[str, list[str]]:
        """Move the world on `days` days (World.advance) and serve it re-indexed; return the
        changed keys per dataset. Data faults are drawn afresh over the new world."""
        with self._lock:
            changed = self.world.advance(days, seed)
            if self._servers:
                self._install()
            return changed

    def served_faults(self) -> dict[str, list[tuple[str, str]]]:
        """Return, per slug, the transport faults served so far as (kind, path)."""
        return {slug: list(state.served) for slug, state in self._transport.items()}

    def _install(self) -> None:
        """Build each system's App for the current world and faults, reusing those whose
        inputs did not change (re-indexing a 1M world takes seconds), and swap them in."""
        data = served_data(self.world)
        report: dict[str, dict[str, list[str]]] = {}
        for slug in APPS:
            data_faults = self.faults.data(slug)
            key = (self.world.version, self.world.today, data_faults)
            built = self._built.get(slug)
            if built is None or built[0] != key:
                served, touched = {}, {}
                for dataset, records in data[slug].items():
                    name = f"{slug}.{dataset}"
                    faults = tuple(f for f in data_faults if dataset in f.datasets())
                    if faults:
                        records, touched[name] = tamper(
                            name, records, faults, self.world.today, self.world.seed)
                    served[dataset] = records
                app = APPS[slug](self.credentials[slug], served)
                app.base_url = self.base_urls[slug]
                built = self._built[slug] = (key, app, touched)
            built[1].faults = self._transport[slug]
            if isinstance(built[1], CareApp):
                built[1].style = self.fhir_style
            report.update(built[2])
            self._servers[slug][0].app = built[1]
        self.fault_report = report
        # Indexes are long-lived and acyclic, like the world: keep full collections off them.
        gc.freeze()

    def stop(self) -> None:
        """Stop all systems and release their ports; safe to call more than once."""
        # Shut them down side by side: each shutdown waits out one poll interval.
        servers = list(self._servers.values())
        # shutdown() waits for serve_forever to finish: only ask servers that were serving.
        stoppers = [threading.Thread(target=server.shutdown)
                    for server, thread in servers if thread.ident is not None]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for server, thread in servers:
            server.server_close()
            if thread.ident is not None:
                thread.join(timeout=5)
        self._servers.clear()
        self._built.clear()
        self.base_urls.clear()
        self.credentials.clear()
        self.admin_url = self.admin_token = None

    def __enter__(self) -> WorldServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _serve(server: _Server, name: str) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True)
    thread.start()
    return thread
