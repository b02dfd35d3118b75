"""How a connector proves who it is: a static token, OAuth2 client credentials, mutual TLS.

- A bearer token or API key is a header the connector sets (`SourceConnector._auth_headers`).
- OAuth2 client credentials (RFC 6749 §4.4): `OAuth2ClientCredentials` asks the token
  endpoint for an access token with the client's id and secret (HTTP Basic, §2.3.1), sends
  it as a bearer token (RFC 6750), asks again shortly before it expires, and once when the
  source answers 401 (a token revoked early).
- Mutual TLS (Digikoppeling, PKIoverheid): a client certificate and key and the CA bundle
  the source's certificate must chain to, set on the session (and on the token endpoint's).

Secrets are read from an environment variable or a file, never from the sources file
itself; `Secret` and the auth object mask them in every repr, and no message quotes one.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from ketenbrug.connectors.body import SourceError

# RFC 6749 §5.2: the error codes a token endpoint may answer with (quoted; nothing else).
TOKEN_ERRORS = frozenset({"invalid_request", "invalid_client", "invalid_grant",
                          "unauthorized_client", "unsupported_grant_type", "invalid_scope"})
EXPIRY_MARGIN_S = 30  # ask for a new token this long before the old one expires


@dataclass(frozen=True)
class Secret:
    """A secret value; its repr never shows it."""

    value: str

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__


def read_secret(env: str | None, file: str | None,
                environ: Mapping[str, str] | None = None) -> Secret:
    """The secret in environment variable `env` or in `file` (trailing newline removed);
    ValueError names the variable or file, never a value."""
    if env:
        value = (os.environ if environ is None else environ).get(env, "")
        if not value:
            raise ValueError(f"environment variable {env} is not set")
        return Secret(value)
    if not file:
        raise ValueError("names neither an environment variable nor a file")
    try:
        mode = os.stat(file).st_mode
        if mode & 0o077:
            raise ValueError(f"{file} is readable by others than its owner (chmod 600)")
        with open(file, encoding="utf-8") as handle:
            value = handle.read().rstrip("\r\n")
    except OSError as exc:
        raise ValueError(f"{file} cannot be read ({type(exc).__name__})") from None
    if not value:
        raise ValueError(f"{file} is empty")
    return Secret(value)


@dataclass(frozen=True)
class ClientTls:
    """Mutual TLS: the client's certificate and key, and the CA bundle to verify against."""

    cert_file: str
    key_file: str
    ca_bundle: str | None = None


class OAuth2ClientCredentials(AuthBase):
    """Bearer tokens from an OAuth2 token endpoint, fetched and renewed as needed."""

    def __init__(self, source: str, token_url: str, client_id: str, client_secret: Secret,
                 scope: str | None = None, tls: ClientTls | None = None,
                 timeout: tuple[float, float] = (3.0, 30.0)) -> None:
        self.source = source
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self.tls = tls
        self.timeout = timeout
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.fetched = 0  # tokens asked for so far

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(token_url={self.token_url!r}, client_id=***)"

    def __getstate__(self) -> dict:
        """What a copy in another process needs: no lock, and no token (it asks its own)."""
        return {**self.__dict__, "_token": None, "_expires_at": 0.0, "_lock": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        request.register_hook("response", self._renew_once_on_401)
        return request

    def token(self, renew: bool = False) -> str:
        with self._lock:
            if renew or self._token is None or time.monotonic() >= self._expires_at:
                self._token, lifetime = self._fetch()
                self._expires_at = time.monotonic() + max(lifetime - EXPIRY_MARGIN_S, 0)
            return self._token

    def _fetch(self) -> tuple[str, float]:
        path = urlsplit(self.token_url).path or "/"
        data = {"grant_type": "client_credentials", **({"scope": self.scope} if self.scope
                                                        else {})}
        options: dict[str, Any] = {"timeout": self.timeout}
        if self.tls:
            options["cert"] = (self.tls.cert_file, self.tls.key_file)
            if self.tls.ca_bundle:
                options["verify"] = self.tls.ca_bundle
        try:
            answer = requests.post(self.token_url, data=data,
                                   headers={"Accept": "application/json"},
                                   auth=(self.client_id, self._secret.value), **options)
        except requests.RequestException as exc:
            raise SourceError(f"{self.source}: OAuth2 token endpoint {path} failed: "
                              f"{type(exc).__name__}",
                              "tls" if isinstance(exc, requests.exceptions.SSLError)
                              else "unreachable") from None
        self.fetched += 1
        body = _json_object(answer)
        if answer.status_code != 200:
            code = body.get("error")
            detail = f": {code}" if code in TOKEN_ERRORS else ""
            raise SourceError(f"{self.source}: OAuth2 token endpoint {path} refused the client "
                              f"({answer.status_code}){detail}", "refused")
        token, kind = body.get("access_token"), str(body.get("token_type", "")).lower()
        if not isinstance(token, str) or not token or kind != "bearer":
            raise SourceError(f"{self.source}: OAuth2 token endpoint {path} answered without "
                              "a bearer access_token")
        lifetime = body.get("expires_in")
        return token, float(lifetime) if isinstance(lifetime, int | float) else 300.0

    def _renew_once_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        """A source that refuses a token not yet expired (revoked, rotated): renew it and
        send the request once more."""
        request = response.request
        if response.status_code != 401 or getattr(request, "_ketenbrug_renewed", False):
            return response
        response.content  # noqa: B018 - read it, so the connection can be reused
        response.close()
        again = request.copy()
        again.headers["Authorization"] = f"Bearer {self.token(renew=True)}"
        again._ketenbrug_renewed = True  # type: ignore[attr-defined]
        retried = response.connection.send(again, **kwargs)
        retried.history.append(response)
        retried.request = again
        return retried


def _json_object(answer: requests.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
