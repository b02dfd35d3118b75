"""A FHIR server for tests: answers GETs with the hand-written files in tests/fixtures/fhir,
over real HTTP on 127.0.0.1, `{base}` in them replaced by its own URL. It knows nothing of
the hub: what it serves is what the specification's examples show."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.local_http import LocalServer, QuietHandler

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
FHIR_JSON = "application/fhir+json; charset=utf-8"
TOKEN = "fixture-token"

# (path, query parameters) -> (status, fixture name without .json)
Route = Callable[[str, dict[str, list[str]]], tuple[int, str]]


def fixture_text(name: str, base: str) -> str:
    return (FIXTURES / f"{name}.json").read_text(encoding="utf-8").replace("{base}", base)


class FixtureFhirServer(LocalServer):
    """Serves `route`'s fixtures, or the texts `written` names (a test's variation on one);
    `requests` lists the request targets asked, in order."""

    def __init__(self, route: Route, written: dict[str, str] | None = None) -> None:
        self.route = route
        self.written = written or {}
        self.requests: list[str] = []
        outer = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                outer.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, fixture_text("outcome-invalid", outer.base_url))
                    return
                parts = urlsplit(self.path)
                status, name = outer.route(parts.path, parse_qs(parts.query))
                text = outer.written.get(name) or fixture_text(name, "{base}")
                self._send(status, text.replace("{base}", outer.base_url))

            def _send(self, status: int, text: str) -> None:
                self.send(status, text.encode(), FHIR_JSON)

        super().__init__(Handler)
        self.base_url = self.origin
