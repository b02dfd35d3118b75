"""A source's answer as the connectors read it: shape checked, wrong shapes named.

Every access a connector makes to a body goes through `Body`, so a missing key or a value
of the wrong type fails the pull with a SourceError naming source, path and query and
what was wrong ("body has no 'items' list", "entry[3] is a string, not an object"), never a bare
KeyError, and never the value itself (it may be personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_ABSENT = object()


class SourceError(Exception):
    """A source system could not be read; names the source and the request path.

    `reason` sorts it for `ketenbrug sources check`: "unreachable" (no connection),
    "tls" (the TLS handshake failed: certificate, CA or client certificate), "refused"
    (the credential was not accepted), or None (the source answered, but wrongly)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Body:
    """The JSON object one GET returned; `where` is its path and query, for messages."""

    source: str
    where: str
    data: dict[str, Any]

    def wrong(self, what: str) -> SourceError:
        return SourceError(f"{self.source}: GET {self.where} {what}")

    def objects(self, key: str, *, optional: bool = False) -> list[dict[str, Any]]:
        """The array of objects under `key`; refuses another type and any item not an
        object. With `optional`, an absent key (or null) is an empty array."""
        value = self.data.get(key, _ABSENT)
        if optional and (value is _ABSENT or value is None):
            return []
        if not isinstance(value, list):
            raise self.wrong(f"body has no {key!r} list" if value is _ABSENT
                             else f"body's {key!r} is {json_type(value)}, not a list")
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.wrong(f"{key}[{index}] is {json_type(item)}, not an object")
        return value

    def count(self, key: str, default: int | None = None) -> int:
        """A whole number at least 0 under `key` (digits as text accepted); `default` when
        absent, refused when absent without one."""
        value = self.data.get(key, _ABSENT)
        if value is _ABSENT and default is not None:
            return default
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        raise self.wrong(f"body has no {key!r}" if value is _ABSENT
                         else f"body's {key!r} is {json_type(value)}, not a whole number >= 0")

    def flag(self, key: str) -> bool:
        """A boolean under `key`; absent or null is false. Refuses other types: the text
        "false" is truthy, and paging on it would never stop."""
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return bool(value)
        raise self.wrong(f"body's {key!r} is {json_type(value)}, not a boolean")


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for messages that must not show the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
