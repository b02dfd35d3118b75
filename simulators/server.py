"""WorldServer: the five simulated source systems on real localhost ports."""

from __future__ import annotations

import json
import secrets
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from simulators.handlers import APPS, App, Reply
from simulators.population import World


class _Handler(BaseHTTPRequestHandler):
    """Hands each GET to the server's App and writes its Reply as JSON."""

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
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
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

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, _Handler)

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
    """

    def __init__(self, world: World, host: str = "127.0.0.1") -> None:
        self.world = world
        self.host = host
        self.base_urls: dict[str, str] = {}
        self.credentials: dict[str, str] = {}
        self._servers: list[tuple[_Server, threading.Thread]] = []

    def start(self) -> WorldServer:
        """Start all five systems and return self; refuses (RuntimeError) a second start."""
        if self._servers:
            raise RuntimeError("WorldServer is already running")
        try:
            for slug, app_class in APPS.items():
                credential = secrets.token_urlsafe(24)
                app = app_class(credential, self.world)
                server = _Server((self.host, 0), app)
                app.base_url = f"http://{self.host}:{server.server_port}"
                thread = threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": 0.1},
                    name=f"simulator-{slug}",
                    daemon=True,
                )
                thread.start()
                self._servers.append((server, thread))
                self.base_urls[slug] = app.base_url
                self.credentials[slug] = credential
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop all systems and release their ports; safe to call more than once."""
        # Shut the five down side by side: each shutdown waits out one poll interval.
        stoppers = [threading.Thread(target=server.shutdown) for server, _ in self._servers]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for server, thread in self._servers:
            server.server_close()
            thread.join(timeout=5)
        self._servers.clear()
        self.base_urls.clear()
        self.credentials.clear()

    def __enter__(self) -> WorldServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
