"""An OAuth2 token endpoint for tests (RFC 6749 §4.4, client credentials): checks the
client's id and secret (HTTP Basic) and the grant type, and issues the access tokens it is
given, in order (the last one again once they run out). Over TLS when given a context."""

from __future__ import annotations

import base64
import json
import ssl
from urllib.parse import parse_qs

from tests.local_http import LocalServer, QuietHandler


class TokenServer(LocalServer):
    def __init__(self, client_id: str, client_secret: str, tokens: list[str],
                 expires_in: int = 3600, tls: ssl.SSLContext | None = None) -> None:
        self.issued: list[str] = []
        self.scopes: list[str | None] = []
        outer = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                expected = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self._send(401, {"error": "invalid_client",
                                     "error_description": f"client {client_id} unknown"})
                elif form.get("grant_type") != ["client_credentials"]:
                    self._send(400, {"error": "unsupported_grant_type"})
                else:
                    token = tokens[min(len(outer.issued), len(tokens) - 1)]
                    outer.issued.append(token)
                    outer.scopes.append((form.get("scope") or [None])[0])
                    self._send(200, {"access_token": token, "token_type": "Bearer",
                                     "expires_in": expires_in})

            def _send(self, status: int, body: dict) -> None:
                self.send(status, json.dumps(body).encode(), "application/json",
                          {"Cache-Control": "no-store"})

        super().__init__(Handler, tls)
        self.token_url = f"{self.origin}/oauth2/token"
