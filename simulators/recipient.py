"""A municipality's receiving endpoint, for tests and the demo: stores each package once.

POST /inbox/<recipient> with an Idempotency-Key: 201 the first time, 200 for a replay of
the same key (nothing stored twice). `fail_first` answers that many requests with 503
first, so a retrying sender can be tested.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOST = "127.0.0.1"


class RecipientEndpoint:
    """Context manager serving `/inbox/<recipient>` on 127.0.0.1; `received` holds packages."""

    def __init__(self, fail_first: int = 0):
        self.received: dict[str, tuple[str, bytes]] = {}  # idempotency key -> (recipient, blob)
        self.requests = 0
        self._fail_left = fail_first
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url_template(self) -> str:
        return f"http://{_HOST}:{self._serving().server_port}/inbox/{{recipient}}"

    def _serving(self) -> ThreadingHTTPServer:
        if self._server is None:
            raise RuntimeError("the endpoint serves only inside `with RecipientEndpoint()`")
        return self._server

    def __enter__(self) -> RecipientEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = endpoint._accept(self.path, self.headers.get("Idempotency-Key"), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer((_HOST, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        server = self._serving()
        server.shutdown()
        server.server_close()

    def _accept(self, path: str, key: str | None, body: bytes) -> int:
        with self._lock:
            self.requests += 1
            if self._fail_left > 0:
                self._fail_left -= 1
                return 503
            if not key or not path.startswith("/inbox/"):
                return 400
            if key in self.received:
                return 200
            self.received[key] = (path.removeprefix("/inbox/"), body)
            return 201
