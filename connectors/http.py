"""HTTP plumbing shared by every connector: retries, time-outs, page caps, clear errors."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)


class SourceError(Exception):
    """A source system could not be read; names the source and the request path."""


@dataclass(frozen=True)
class HttpSettings:
    base_url: str
    credential: str
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 30.0
    max_retries: int = 5
    backoff_factor_s: float = 0.5
    max_pages: int = 10_000

    def __repr__(self) -> str:  # the credential never reaches a log
        return f"HttpSettings(base_url={self.base_url!r})"


def build_session(settings: HttpSettings, auth_headers: dict[str, str]) -> requests.Session:
    """Return a session that retries 429/5xx and time-outs with backoff, honouring Retry-After."""
    retry = Retry(
        total=settings.max_retries, connect=settings.max_retries, read=settings.max_retries,
        status=settings.max_retries, backoff_factor=settings.backoff_factor_s,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True, raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Accept": "application/json", **auth_headers})
    return session


def get_json(session: requests.Session, settings: HttpSettings, source: str,
             url: str, params: dict | None = None) -> dict:
    """GET `url` and return its JSON body; raise SourceError naming source and path.

    Status errors are retried by the session; a 200 whose body is not JSON (cut off or
    garbled on the way) is asked for again with the same backoff before giving up.
    """
    for attempt in range(settings.max_retries + 1):
        try:
            return _get_once(session, settings, source, url, params)
        except _NotJson:
            time.sleep(settings.backoff_factor_s * (2 ** attempt))
    raise SourceError(f"{source}: GET {urlsplit(url).path} returned a body that is not valid "
                      f"JSON, {settings.max_retries + 1} times")


class _NotJson(Exception):
    pass


def _get_once(session: requests.Session, settings: HttpSettings, source: str,
              url: str, params: dict | None) -> dict:
    path = urlsplit(url).path
    try:
        response = session.get(url, params=params,
                                timeout=(settings.connect_timeout_s, settings.read_timeout_s))
    except requests.RequestException as exc:
        raise SourceError(
            f"{source}: GET {path} failed after retries: {type(exc).__name__}") from None
    if response.status_code in (401, 403):
        raise SourceError(
            f"{source}: GET {path} refused ({response.status_code}): check the credential")
    if response.status_code >= 400:
        raise SourceError(f"{source}: GET {path} answered {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise _NotJson from None
