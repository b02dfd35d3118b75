"""The published source interfaces (simulators/openapi/*.yaml) as a test's yardstick: is a
document valid OpenAPI 3.1, does an answer conform to it (schemathesis' checks: status
documented, content type, headers, body schema), and do the requests a connector sends
stay within its parameters."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs

import jsonschema
import requests
import schemathesis
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis import checks as basic_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.config._cache import CacheConfig
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi import checks as openapi_checks
from schemathesis.specs.openapi.definitions import OPENAPI_31

from ketenbrug.simulators.openapi import document

# A document's own URI in the registry, so a schema can point into it with a JSON pointer.
DOCUMENT_URI = "urn:ketenbrug:source-openapi"
# What every answer must keep: documented status, content type, headers and body.
CONFORMANCE = [
    basic_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]


def loaded(source: str) -> BaseSchema:
    """The document of `source` as schemathesis reads it (no configuration file, no cache)."""
    config = SchemathesisConfig(cache=CacheConfig(enabled=False))
    return schemathesis.openapi.from_dict(document(source), config=config)


def openapi_31_errors(doc: dict[str, Any]) -> list[str]:
    """What makes `doc` no valid OpenAPI 3.1 document: the OAS 3.1 schema's complaints, and
    each Schema Object's against the JSON Schema 2020-12 meta-schema (the OAS schema leaves
    those unchecked)."""
    validator = jsonschema.Draft202012Validator(OPENAPI_31)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(doc)]
    meta = jsonschema.Draft202012Validator(jsonschema.Draft202012Validator.META_SCHEMA)
    for where, schema in schema_objects(doc):
        errors += [f"{where}: {e.message}" for e in meta.iter_errors(schema)]
    return errors


def schema_objects(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every top-level Schema Object of a document (under a `schema` key or in
    components/schemas), with the JSON pointer to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = where + pointer(str(key))
            if key == "schema" or where == "/components/schemas":
                yield path, value
            elif key != "examples":
                yield from schema_objects(value, path)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schema_objects(value, f"{where}/{index}")


def validator_at(doc: dict[str, Any], pointer: str) -> jsonschema.Draft202012Validator:
    """A JSON Schema 2020-12 validator (formats checked) for the schema at `pointer` in
    `doc`, its `$ref`s resolved inside the document."""
    registry: Registry = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(doc, default_specification=DRAFT202012))
    return jsonschema.Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#{pointer}"}, registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def pointer(*parts: str) -> str:
    """A JSON pointer to `parts` (RFC 6901 escapes)."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def operation(schema: BaseSchema, path: str) -> APIOperation:
    return schema[path]["GET"]


def conform(op: APIOperation, response: requests.Response, *,
            path_parameters: dict[str, Any] | None = None, query: dict[str, Any] | None = None,
            extra: tuple[Callable[..., Any], ...] = (), server_error: bool = False) -> None:
    """Raise (schemathesis' FailureGroup) unless `response`, the answer to GET `op` with
    these parameters, conforms to the document. `server_error`: a 5xx is what the test
    asked for (an injected failure), so only its documented form is checked."""
    case = op.Case(path_parameters=path_parameters or {}, query=query or {})
    checks = [c for c in CONFORMANCE if not (server_error and c is basic_checks.not_a_server_error)]
    case.validate_response(response, checks=[*checks, *extra])


def requested_fields_conformance(ctx: Any, response: Any, case: Any) -> None:
    """A check schemathesis runs along: with `fields`, each record carries exactly the
    fields asked; without it, every field the record's `Complete...` schema requires
    (the body schema cannot see the request, so it leaves them optional)."""
    if response.status_code != 200 or "fields" not in case.operation.query:
        return
    asked = case.query.get("fields")
    if isinstance(asked, str):
        asked = asked.split(",")
    records = response.json()["data"]
    if asked:
        for record in records:
            assert set(record) == set(asked), f"fields asked {sorted(asked)}, got {sorted(record)}"
        return
    doc = case.operation.schema.raw_schema
    items = doc["components"]["schemas"][_page_schema(case)]["properties"]["data"]["items"]
    complete = validator_at(doc, "/components/schemas/Complete" + items["$ref"].split("/")[-1])
    for record in records:
        problems = [e.message for e in complete.iter_errors(record)]
        assert not problems, f"a record without `fields` is incomplete: {problems}"


def _page_schema(case: Any) -> str:
    ref = case.operation.definition.raw["responses"]["200"]["content"]["application/json"]
    return str(ref["schema"]["$ref"].split("/")[-1])


def request_problems(doc: dict[str, Any], target: str) -> list[str]:
    """What is wrong with a GET of `target` (path and query) by the document: an unknown
    path, or a query parameter undeclared, repeated or outside its schema."""
    path, _, query = target.partition("?")
    found = _match_path(doc, path)
    if found is None:
        return [f"{path}: no such path in the document"]
    template, item = found
    declared = {p["name"]: p for p in _parameters(doc, item["get"]) if p["in"] == "query"}
    problems = []
    for name, values in parse_qs(query, keep_blank_values=True).items():
        if name not in declared:
            problems.append(f"{template}: undeclared query parameter {name}")
            continue
        if len(values) > 1:
            problems.append(f"{template}: {name} given more than once")
        schema = declared[name]["schema"]
        value = _typed(values[0], schema)
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        problems += [f"{template}: {name}={values[0]!r}: {e.message}"
                     for e in validator.iter_errors(value)]
    return problems


def _match_path(doc: dict[str, Any], path: str) -> tuple[str, dict[str, Any]] | None:
    for template, item in doc["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return template, item
    return None


def _parameters(doc: dict[str, Any], op: dict[str, Any]) -> list[dict[str, Any]]:
    resolved = []
    for parameter in op.get("parameters", []):
        if "$ref" in parameter:
            parameter = doc["components"]["parameters"][parameter["$ref"].split("/")[-1]]
        resolved.append(parameter)
    return resolved


def _typed(raw: str, schema: dict[str, Any]) -> Any:
    """A query value as its schema's type reads it (form style, arrays comma-separated)."""
    if schema.get("type") == "integer":
        return int(raw) if raw.isascii() and raw.isdigit() else raw
    if schema.get("type") == "array":
        return raw.split(",")
    return raw
