"""HTTP plumbing shared by every connector: retries, time-outs, strict decoding, clear errors.

A body is decoded as the charset its Content-Type declares, UTF-8 when none is declared
(RFC 8259 §8.1: JSON exchanged between systems is UTF-8), strictly: nothing is guessed and
nothing is replaced, because a wrongly decoded name becomes a wrong name in a package and
in name-based linkage. A UTF-8 byte order mark is tolerated (§8.1 lets a parser ignore it;
it carries no content). Then it is parsed as JSON proper: NaN and Infinity are refused.

Faults are sorted by who can mend them. A body cut off or garbled on the way (not JSON, a
multi-byte character cut at the very end, fewer bytes than Content-Length) is a transport
fault: asked again with backoff. A complete body with invalid bytes, an unknown charset,
a NaN, a lone surrogate, nesting deeper than MAX_NESTING or a top level that is not an
object is the source's fault and the same again on every retry: the pull fails at once,
naming source, path and query (credentials left out) and the byte offset, never a value.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.util.retry import Retry

from ketenbrug.connectors.auth import ClientTls
from ketenbrug.connectors.body import Body, SourceError, json_type

RETRY_STATUSES = (429, 500, 502, 503, 504)
UTF8 = "utf-8"
# Python codecs that are not charsets a system could mean: they would interpret the body.
_NOT_CHARSETS = frozenset({"unicode-escape", "raw-unicode-escape", "idna", "punycode",
                           "undefined"})
# Query parameters whose values are credentials: never in a message.
_SECRET_PARAM = re.compile(r"key|token|secret|passw|signature|auth|credential", re.IGNORECASE)
# A \uD800-\uDFFF escape: only then can json.loads have produced a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_MAX_WHERE = 300  # characters of path and query a message quotes
# Levels of objects and arrays a body may nest (a FHIR Bundle needs 7). Deeper, and the
# recursive walks after the connector (allowlist, payload hash) could fail on a record.
MAX_NESTING = 32


__all__ = ["Body", "HttpSettings", "SourceError", "build_session", "decode_json", "get_json"]


@dataclass(frozen=True)
class HttpSettings:
    base_url: str
    credential: str
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 30.0
    max_retries: int = 5
    backoff_factor_s: float = 0.5
    max_pages: int = 10_000
    # Requests per second the source allows (None: no limit); OAuth2 or other auth that
    # replaces the static credential; mutual TLS (client certificate, CA bundle).
    rate_limit_per_s: float | None = None
    auth: AuthBase | None = None
    tls: ClientTls | None = None

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
    session.auth = settings.auth
    if settings.tls is not None:
        session.cert = (settings.tls.cert_file, settings.tls.key_file)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Accept": "application/json", **auth_headers})
    # The environment's proxy and CA bundle for this source, read once: requests would read
    # the whole environment and ~/.netrc again for every request (a third of a small
    # page's time on the client). Not ~/.netrc at all: a source's credential is the one
    # configured for it, never a password file's entry for the same host.
    found = session.merge_environment_settings(settings.base_url, {}, None, None, None)
    session.proxies.update(found["proxies"])
    session.verify = found["verify"]
    session.trust_env = False
    return session


# What a connector makes of an error answer's body (a FHIR OperationOutcome, say), for
# the message; None when it has nothing to add. It must not quote values.
ErrorDetail = Callable[[dict], "str | None"]


def get_json(session: requests.Session, settings: HttpSettings, source: str,
             url: str, params: dict | None = None,
             error_detail: ErrorDetail | None = None) -> Body:
    """GET `url` and return its JSON object body; raise SourceError naming source and path.

    Status errors are retried by the session; a 200 whose body was cut off or garbled on
    the way is asked for again with the same backoff before giving up. A body the source
    itself got wrong (see the module docstring) fails at once. An error answer's JSON body
    is described by `error_detail`, when given.
    """
    where = request_target(url, params)
    for attempt in range(settings.max_retries + 1):
        try:
            return _get_once(session, settings, source, url, params, where, error_detail)
        except _Garbled:
            time.sleep(settings.backoff_factor_s * (2 ** attempt))
    raise SourceError(f"{source}: GET {where} returned a body that is not valid "
                      f"JSON, {settings.max_retries + 1} times")


def request_target(url: str, params: dict | None = None) -> str:
    """Path and query of the request (RFC 3986), credential-like parameters redacted."""
    prepared = requests.PreparedRequest()
    # A URL requests cannot prepare fails the GET itself, by name; quote what there is.
    with contextlib.suppress(requests.RequestException, ValueError):
        prepared.prepare_url(url, params)
    try:
        parts = urlsplit(prepared.url or url)
    except ValueError:
        return "(an unreadable URL)"
    query = urlencode([(k, "***" if _SECRET_PARAM.search(k) else v)
                       for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe=":,*")
    target = parts.path + (f"?{query}" if query else "")
    return target if len(target) <= _MAX_WHERE else target[:_MAX_WHERE] + "…"


class Throttle:
    """At most `per_second` requests a second from one connector (None: no limit)."""

    def __init__(self, per_second: float | None) -> None:
        self._interval = 1.0 / per_second if per_second else 0.0
        self._next = 0.0

    def wait(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        if now < self._next:
            time.sleep(self._next - now)
        self._next = max(now, self._next) + self._interval


class _Garbled(Exception):
    """The body was cut off or garbled on the way: worth asking again."""


def _get_once(session: requests.Session, settings: HttpSettings, source: str,
              url: str, params: dict | None, where: str,
              error_detail: ErrorDetail | None = None) -> Body:
    path = urlsplit(url).path
    try:
        # The CA bundle goes with each request: requests lets REQUESTS_CA_BUNDLE (set on
        # many machines) override a session's own `verify`, and would trust another CA.
        ca_bundle = settings.tls.ca_bundle if settings.tls else None
        response = session.get(url, params=params,
                               timeout=(settings.connect_timeout_s, settings.read_timeout_s),
                               verify=ca_bundle or session.verify)
    except requests.exceptions.ChunkedEncodingError:
        raise _Garbled from None  # fewer bytes than announced: the connection broke
    except requests.RequestException as exc:
        tls = isinstance(exc, requests.exceptions.SSLError)
        raise SourceError(
            f"{source}: GET {path} failed after retries: {type(exc).__name__}"
            + (f" ({_tls_reason(exc)})" if tls else ""),
            "tls" if tls else "unreachable") from None
    if response.status_code in (401, 403):
        raise SourceError(
            f"{source}: GET {path} refused ({response.status_code}): check the credential"
            + _detail(response, error_detail, source, where), "refused")
    if response.status_code >= 400:
        raise SourceError(f"{source}: GET {path} answered {response.status_code}"
                          + _detail(response, error_detail, source, where))
    parsed = decode_json(response.content, response.headers.get("Content-Type"), source, where)
    return Body(source, where, parsed)


def _tls_reason(exc: BaseException) -> str:
    """OpenSSL's reason for a failed handshake (CERTIFICATE_VERIFY_FAILED, ...): a code,
    never a secret; found on the SSLError inside requests' and urllib3's wrappers."""
    import ssl

    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLError) and current.reason:
            return str(current.reason)
        stack += [current.__cause__, current.__context__,
                  *(a for a in current.args if isinstance(a, BaseException)),
                  getattr(current, "reason", None) if isinstance(
                      getattr(current, "reason", None), BaseException) else None]
    return "handshake failed"


def _detail(response: requests.Response, error_detail: ErrorDetail | None,
            source: str, where: str) -> str:
    """`: <what the connector reads in the error body>`, or nothing."""
    if error_detail is None:
        return ""
    try:
        body = decode_json(response.content, response.headers.get("Content-Type"), source, where)
    except (SourceError, _Garbled):
        return ""
    detail = error_detail(body)
    return f": {detail}" if detail else ""


def decode_json(content: bytes, content_type: str | None, source: str, where: str) -> dict:
    """Decode and parse a body as the module docstring says; return its top-level object.

    Raises SourceError for a fault of the source, _Garbled for one of the transport.
    """
    text = _decode(content, content_type, source, where)
    try:
        parsed = json.loads(text, parse_constant=_refuse_constant)
    except _NotJsonConstant as exc:
        raise SourceError(f"{source}: GET {where} body holds {exc.args[0]}, "
                          "which is not JSON (RFC 8259 §6)") from None
    except RecursionError:
        raise SourceError(f"{source}: GET {where} body nests too deeply to read") from None
    except json.JSONDecodeError:
        raise _Garbled from None
    except ValueError:  # e.g. an integer of more digits than Python converts
        raise SourceError(f"{source}: GET {where} body holds a number too long to read") from None
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(parsed, source, where)
    if _nesting_exceeds(parsed, MAX_NESTING):
        raise SourceError(f"{source}: GET {where} body nests deeper than {MAX_NESTING} levels")
    if not isinstance(parsed, dict):
        raise SourceError(f"{source}: GET {where} body is {json_type(parsed)}, not an object")
    return parsed


def declared_charset(content_type: str | None) -> str | None:
    """The `charset` parameter of a Content-Type (case-insensitive, quotes removed)."""
    if not content_type:
        return None
    header = Message()
    header["Content-Type"] = content_type
    charset = header.get_content_charset()  # lower-cased, unquoted, RFC 2231 aware
    return charset.strip() or None if charset else None


def _decode(content: bytes, content_type: str | None, source: str, where: str) -> str:
    label = declared_charset(content_type) or UTF8
    shown = label[:40]  # the source's own label, never data: safe to name
    try:
        name = codecs.lookup(label).name
    except LookupError:
        name = ""
    if not name or name in _NOT_CHARSETS:
        raise SourceError(f"{source}: GET {where} declares an unknown charset {shown!r}")
    skipped = len(codecs.BOM_UTF8) if name == UTF8 and content.startswith(codecs.BOM_UTF8) else 0
    try:
        return content[skipped:].decode(name, errors="strict")
    except LookupError:  # a bytes-to-bytes codec (base64, zlib...): not a charset
        raise SourceError(
            f"{source}: GET {where} declares an unknown charset {shown!r}") from None
    except UnicodeDecodeError as exc:
        if exc.end >= len(content) and exc.reason in ("unexpected end of data", "truncated data"):
            raise _Garbled from None  # a character cut at the very end: cut off on the way
        raise SourceError(f"{source}: GET {where} body is not valid {shown.upper()} at byte "
                          f"{skipped + exc.start}") from None


def _nesting_exceeds(value: object, limit: int) -> bool:
    """Whether objects and arrays nest deeper than `limit`; a loop, not recursion."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class _NotJsonConstant(Exception):
    pass


def _refuse_constant(name: str) -> object:
    raise _NotJsonConstant(name)


def _refuse_lone_surrogates(parsed: object, source: str, where: str) -> None:
    """A \\uD800 escape without its pair parses to a string no UTF-8 store can hold."""
    try:
        json.dumps(parsed, ensure_ascii=False).encode(UTF8)
    except UnicodeEncodeError:
        raise SourceError(f"{source}: GET {where} body holds a lone UTF-16 surrogate escape, "
                          "which is not text (RFC 8259 §8.2)") from None

