"""A requests adapter that answers from a function instead of the network: connectors
under test send real requests through their own session, and nothing leaves the process."""

from __future__ import annotations

from collections.abc import Callable

from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

# (status, Content-Type or None, body bytes) for one request
Answer = tuple[int, str | None, bytes]


class CannedAdapter(BaseAdapter):
    """Answers every request with `answer(request)`; `requests` lists the URLs asked."""

    def __init__(self, answer: Callable[[PreparedRequest], Answer]) -> None:
        super().__init__()
        self._answer = answer
        self.requests: list[str] = []

    def send(self, request: PreparedRequest, **kwargs: object) -> Response:  # type: ignore[override]
        self.requests.append(request.url or "")
        status, content_type, body = self._answer(request)
        response = Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(
            {"Content-Length": str(len(body)), **({"Content-Type": content_type}
                                                   if content_type else {})})
        response._content = body
        response.url = request.url or ""
        response.request = request
        response.reason = "OK"
        return response

    def close(self) -> None:
        return None


def install(connector: object, answer: Callable[[PreparedRequest], Answer]) -> CannedAdapter:
    """Mount a CannedAdapter on a connector's session for http:// and https://."""
    adapter = CannedAdapter(answer)
    session = connector.session  # type: ignore[attr-defined]
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return adapter
