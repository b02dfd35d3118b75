"""Strict decoding: a body is read as the charset it declares, UTF-8 when it declares none,
never guessed; bytes the source got wrong fail the pull at once, naming source, path,
query and byte offset, never a value. Served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ketenbrug.connectors import HttpSettings, SourceError
from ketenbrug.connectors.http import build_session, get_json

NAME = "Hoëk-Çelik"


class _Canned(ThreadingHTTPServer):
    """Serves queued (Content-Type, body) answers in order, the last one again when empty."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers: list[tuple[str | None, bytes]] = []
        self.asked = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        server: _Canned = self.server  # type: ignore[assignment]
        server.asked += 1
        content_type, body = (server.answers.pop(0) if len(server.answers) > 1
                              else server.answers[0])
        self.send_response(200)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def source() -> Iterator[_Canned]:
    server = _Canned()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _get(source: _Canned, *answers: tuple[str | None, bytes], params=None):
    source.answers, source.asked = list(answers), 0
    settings = HttpSettings(f"http://127.0.0.1:{source.server_port}", "secret-credential",
                            max_retries=2, backoff_factor_s=0)
    with build_session(settings, {}) as session:
        return get_json(session, settings, "care", settings.base_url + "/fhir/EpisodeOfCare",
                        params if params is not None else {"_count": 100}).data


def _body(text: str) -> str:
    return '{"entry":[{"resource":{"name":"' + text + '"}}]}'


@pytest.mark.parametrize("content_type", [
    "application/json; charset=iso-8859-1", 'application/fhir+json;CHARSET="ISO-8859-1"',
    "application/json; q=1; charset=latin1"])
def test_a_latin1_body_that_says_so_decodes_the_name_intact(source, content_type):
    body = _get(source, (content_type, _body(NAME).encode("latin-1")))
    assert body["entry"][0]["resource"]["name"] == NAME


@pytest.mark.parametrize("content_type", [None, "application/json", "text/json"])
def test_utf8_without_a_declared_charset_is_utf8_not_a_guess(source, content_type):
    # requests reads text/* without a charset as ISO-8859-1: "HoÃ«k-Ã‡elik" in the package.
    body = _get(source, (content_type, _body(NAME).encode()))
    assert body["entry"][0]["resource"]["name"] == NAME


def test_a_utf8_byte_order_mark_is_tolerated(source):
    body = _get(source, ("application/json", b"\xef\xbb\xbf" + _body(NAME).encode()))
    assert body["entry"][0]["resource"]["name"] == NAME


def test_latin1_bytes_declared_utf8_fail_at_once_naming_path_query_and_offset(source):
    payload = _body(NAME).encode("latin-1")
    with pytest.raises(SourceError) as raised:
        _get(source, ("application/json; charset=utf-8", payload))
    offset = payload.index("ë".encode("latin-1"))
    assert str(raised.value) == (f"care: GET /fhir/EpisodeOfCare?_count=100 body is not valid "
                                 f"UTF-8 at byte {offset}")
    assert source.asked == 1  # the same bytes would come again: no retry
    assert "Ho" not in str(raised.value) and "elik" not in str(raised.value)


def test_the_offset_counts_a_byte_order_mark(source):
    payload = b"\xef\xbb\xbf" + _body(NAME).encode("latin-1")
    offset = payload.index("ë".encode("latin-1"))
    with pytest.raises(SourceError, match=rf"at byte {offset}$"):
        _get(source, (None, payload))


@pytest.mark.parametrize("charset", ["klingon", "unicode_escape", "base64", "rot13"])
def test_an_unknown_charset_fails_naming_it(source, charset):
    with pytest.raises(SourceError, match=rf"declares an unknown charset '{charset}'$"):
        _get(source, (f"application/json; charset={charset}", b"{}"))
    assert source.asked == 1


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_as_not_json(source, constant):
    with pytest.raises(SourceError, match=f"body holds {constant}, which is not JSON"):
        _get(source, (None, b'{"total": ' + constant.encode() + b"}"))
    assert source.asked == 1


def test_a_lone_surrogate_escape_is_refused_and_a_pair_is_read(source):
    assert _get(source, (None, rb'{"n": "\ud83d\ude00"}')) == {"n": "\U0001f600"}
    with pytest.raises(SourceError, match="lone UTF-16 surrogate"):
        _get(source, (None, rb'{"n": "Ho\udc00k"}'))


def test_a_character_cut_at_the_end_is_a_transport_fault_and_asked_again(source):
    whole = _body(NAME).encode()
    cut = whole[: whole.index("ë".encode()) + 1]  # the first byte of two, then nothing
    body = _get(source, (None, cut), (None, whole))
    assert source.asked == 2 and body["entry"][0]["resource"]["name"] == NAME


def test_a_body_that_is_not_an_object_is_refused(source):
    with pytest.raises(SourceError, match=r"EpisodeOfCare\?_count=100 body is an array"):
        _get(source, (None, b"[]"))


def test_a_credential_in_the_query_never_reaches_the_message(source):
    with pytest.raises(SourceError) as raised:
        _get(source, ("application/json; charset=utf-8", b'{"a": "\xeb"}'),
             params={"api_key": "s3cr3t-value", "_count": 100})
    assert "s3cr3t-value" not in str(raised.value)
    assert "api_key=***&_count=100" in str(raised.value)
