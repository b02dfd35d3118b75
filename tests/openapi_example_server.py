"""A source for tests that answers with its published interface's own examples
(simulators/openapi/<source>.yaml), over real HTTP on 127.0.0.1. It knows nothing of the
simulator: what it serves is what a vendor reading the document would. Credentials are
checked as the document's security scheme says; `requests` lists every target asked."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ketenbrug.simulators.openapi import document
from tests.local_http import LocalServer, QuietHandler

CREDENTIAL = "example-credential"

# (path, query parameters) -> (path template in the document, status, example name)
Route = Callable[[str, dict[str, list[str]]], tuple[str, int, str]]


def example(doc: dict[str, Any], template: str, status: int, name: str) -> Any:
    """The value of example `name` of the JSON answer `status` to GET `template`."""
    answer = doc["paths"][template]["get"]["responses"][str(status)]
    if "$ref" in answer:
        answer = doc["components"]["responses"][answer["$ref"].split("/")[-1]]
    return answer["content"]["application/json"]["examples"][name]["value"]


class ExampleServer(LocalServer):
    def __init__(self, source: str, route: Route) -> None:
        self.doc = document(source)
        self.route = route
        self.requests: list[str] = []
        [(_name, scheme)] = self.doc["components"]["securitySchemes"].items()
        if scheme["type"] == "apiKey":
            header, expected = scheme["name"], CREDENTIAL
        else:
            header, expected = "Authorization", f"Bearer {CREDENTIAL}"
        outer = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                outer.requests.append(self.path)
                if self.headers.get(header) != expected:
                    refusal = outer._component_example("Unauthorized", "missing")
                    challenge = {} if header != "Authorization" else {
                        "WWW-Authenticate": 'Bearer realm="examples"'}
                    self._json(401, refusal, challenge)
                    return
                parts = urlsplit(self.path)
                template, status, name = outer.route(parts.path, parse_qs(parts.query))
                self._json(status, example(outer.doc, template, status, name))

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                self.send(status, json.dumps(body, ensure_ascii=False).encode(),
                          "application/json", headers)

        super().__init__(Handler)
        self.base_url = self.origin

    def _component_example(self, response: str, name: str) -> Any:
        content = self.doc["components"]["responses"][response]["content"]
        return content["application/json"]["examples"][name]["value"]
