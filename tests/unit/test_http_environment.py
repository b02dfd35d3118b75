"""What a connector's session takes from the environment (connectors/http.py): the proxy
and the CA bundle, as requests would, read once; never a ~/.netrc password."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ketenbrug.connectors.http import HttpSettings, build_session, get_json


class _Recording(BaseHTTPRequestHandler):
    """Answers every GET with `{}` and keeps its request line and headers."""

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self.server.seen.append((self.requestline, dict(self.headers)))  # type: ignore[attr-defined]
        body = json.dumps({"data": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recording)
    httpd.seen = []  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy_settings_of_this_machine(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def _get(base_url: str, path: str = "/clients") -> None:
    settings = HttpSettings(base_url=base_url, credential="the-configured-key")
    session = build_session(settings, {"X-API-Key": settings.credential})
    get_json(session, settings, "probation", base_url + path)
    get_json(session, settings, "probation", base_url + path + "?page=2")


def test_every_request_goes_through_the_proxy_the_environment_names(server, monkeypatch):
    port = server.server_address[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    _get("http://probation.example")  # no such host: only the proxy can answer
    assert [line for line, _ in server.seen] == [
        "GET http://probation.example/clients HTTP/1.1",
        "GET http://probation.example/clients?page=2 HTTP/1.1"]


def test_a_source_named_in_no_proxy_is_reached_directly(server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    _get(f"http://127.0.0.1:{server.server_address[1]}")
    assert [line for line, _ in server.seen] == [
        "GET /clients HTTP/1.1", "GET /clients?page=2 HTTP/1.1"]


def test_a_netrc_entry_for_the_source_host_adds_no_credential(server, monkeypatch, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password from-a-password-file\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    _get(f"http://127.0.0.1:{server.server_address[1]}")
    for _, headers in server.seen:
        assert "Authorization" not in headers
        assert headers["X-API-Key"] == "the-configured-key"
