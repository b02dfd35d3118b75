"""The production source configuration: one file per deployment (`sources.yaml`) naming,
per source system, its base URL, authentication, mutual TLS, time-outs, retries, rate
limit, page cap and pull schedule. Checked whole at start-up, against
connectors/sources.schema.json and then for what a schema cannot see (secrets present,
files readable by their owner only, certificate and key a pair, a schedule that parses,
plain HTTP only to this machine), every problem named in one SourcesError. Secrets are
read from the environment or from files, never from the file itself.
"""

from __future__ import annotations

import ipaddress
import json
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import yaml
from requests.auth import AuthBase

from ketenbrug import yaml_files
from ketenbrug.connectors.auth import ClientTls, OAuth2ClientCredentials, read_secret
from ketenbrug.connectors.http import HttpSettings

__all__ = ["SourceConfig", "SourcesError", "base_urls", "load_sources", "schedules",
           "sources_schema"]


class SourcesError(ValueError):
    """A sources file that cannot be used; `problems` names each thing wrong."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s):\n" +
                         "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class SourceConfig:
    """One source system as the file configures it; `settings` builds its connector."""

    slug: str
    auth_kind: str  # bearer, api_key or oauth2_client_credentials
    settings: HttpSettings
    schedule: str | None = None

    @property
    def mutual_tls(self) -> bool:
        return self.settings.tls is not None


def sources_schema() -> dict[str, Any]:
    text = resources.files("ketenbrug.connectors").joinpath("sources.schema.json").read_text()
    return json.loads(text)


def load_sources(path: Path | str, environ: Mapping[str, str] | None = None,
                 required: tuple[str, ...] = ()) -> dict[str, SourceConfig]:
    """Read and check the sources file at `path`; `required` slugs must all be there."""
    try:
        document = yaml_files.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourcesError(path, [f"cannot be read ({type(exc).__name__})"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise SourcesError(path, [f"is not YAML{where}"]) from None
    validator = jsonschema.Draft202012Validator(sources_schema())
    errors = [leaf for e in validator.iter_errors(document) for leaf in _chosen_form(e)]
    problems = [f"{_where(e)}: {_schema_problem(e)}"
                for e in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])]
    if problems:
        raise SourcesError(path, problems)
    configured: dict[str, SourceConfig] = {}
    for slug, entry in document["sources"].items():
        found: list[str] = []
        config = _source(slug, entry, environ, found)
        problems += [f"sources.{slug}: {p}" for p in found]
        if config is not None and not found:
            configured[slug] = config
    problems += [f"sources.{slug}: not configured" for slug in required
                 if slug not in document["sources"]]
    if problems:
        raise SourcesError(path, problems)
    return configured


def base_urls(path: Path | str) -> dict[str, str]:
    """Each source's base URL and nothing else (no secret read): for building the code
    location, which must load even before a secret is in place. {} when unreadable."""
    return {slug: str(entry.get("base_url", "")).rstrip("/")
            for slug, entry in _entries(path).items()}


def schedules(path: Path | str) -> dict[str, str]:
    """Each source's pull schedule, where the file sets one (no secret read)."""
    return {slug: str(entry["schedule"]) for slug, entry in _entries(path).items()
            if isinstance(entry.get("schedule"), str) and _valid_cron(entry["schedule"])}


def _entries(path: Path | str) -> dict[str, dict[str, Any]]:
    try:
        document = yaml_files.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    found = document.get("sources") if isinstance(document, dict) else None
    return {k: v for k, v in found.items() if isinstance(v, dict)} \
        if isinstance(found, dict) else {}


def _source(slug: str, entry: dict[str, Any], environ: Mapping[str, str] | None,
            problems: list[str]) -> SourceConfig | None:
    base_url = entry["base_url"].rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme == "http" and not _loopback(parts.hostname):
        problems.append("base_url: plain http is allowed only to this machine; use https")
    tls = _tls(entry.get("tls"), problems)
    timeouts = entry.get("timeouts", {})
    timeout = (float(timeouts.get("connect_s", 3.0)), float(timeouts.get("read_s", 30.0)))
    (kind, spec), = entry["auth"].items()
    credential, auth = "", None
    try:
        if kind in ("bearer", "api_key"):
            credential = read_secret(spec.get("env"), spec.get("file"), environ).value
        else:
            secret = spec["client_secret"]
            auth = _oauth2(slug, spec, read_secret(secret.get("env"), secret.get("file"),
                                                    environ), tls, timeout)
            if urlsplit(spec["token_url"]).scheme == "http" and not _loopback(
                    urlsplit(spec["token_url"]).hostname):
                problems.append("auth.oauth2_client_credentials.token_url: plain http is "
                                "allowed only to this machine; use https")
    except ValueError as exc:
        problems.append(f"auth.{kind}: {exc}")
    if (kind == "api_key") != (slug == "wijkteam"):
        problems.append(f"auth: {slug} takes " + ("an api_key" if slug == "wijkteam"
                                                   else "bearer or OAuth2, not an api_key"))
    schedule = entry.get("schedule")
    if schedule is not None and not _valid_cron(schedule):
        problems.append("schedule: not a cron expression")
    if problems:
        return None
    settings = HttpSettings(
        base_url=base_url, credential=credential, connect_timeout_s=timeout[0],
        read_timeout_s=timeout[1], max_retries=int(entry.get("retries", 5)),
        max_pages=int(entry.get("page_cap", 10_000)),
        rate_limit_per_s=entry.get("rate_limit_per_s"), auth=auth, tls=tls)
    return SourceConfig(slug, kind, settings, schedule)


def _oauth2(slug: str, spec: dict[str, Any], secret: Any, tls: ClientTls | None,
            timeout: tuple[float, float]) -> AuthBase:
    return OAuth2ClientCredentials(slug, spec["token_url"], spec["client_id"], secret,
                                   spec.get("scope"), tls, timeout)


def _tls(spec: dict[str, str] | None, problems: list[str]) -> ClientTls | None:
    if spec is None:
        return None
    for name in ("client_cert", "client_key", "ca_bundle"):
        if name in spec and not Path(spec[name]).is_file():
            problems.append(f"tls.{name}: {spec[name]} is not a file")
    if problems:
        return None
    key = Path(spec["client_key"])
    if key.stat().st_mode & 0o077:
        problems.append(f"tls.client_key: {key} is readable by others than its owner "
                        "(chmod 600)")
    try:
        ssl.create_default_context().load_cert_chain(spec["client_cert"], spec["client_key"])
        if "ca_bundle" in spec:
            ssl.create_default_context(cafile=spec["ca_bundle"])
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None)
        problems.append(f"tls: certificate, key or CA bundle not usable ({type(exc).__name__}"
                        f"{': ' + reason if reason else ''})")
    return ClientTls(spec["client_cert"], spec["client_key"], spec.get("ca_bundle"))


# minute, hour, day of month, month, day of week (0 and 7 both Sunday)
_CRON_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_ITEM = re.compile(r"(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?")


def _valid_cron(expression: str) -> bool:
    """A five-field cron expression of numbers, ranges, lists and steps (what Dagster's
    schedules take; names like `mon` are not accepted here)."""
    fields = expression.split()
    if len(fields) != 5:
        return False
    for field, (low, high) in zip(fields, _CRON_BOUNDS, strict=True):
        for item in field.split(","):
            match = _CRON_ITEM.fullmatch(item)
            if match is None or match[4] == "0":
                return False
            numbers = [int(n) for n in (match[2], match[3]) if n is not None]
            if any(not low <= n <= high for n in numbers) or numbers != sorted(numbers):
                return False
    return True


def _loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _chosen_form(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """For a `oneOf` whose form the writer did choose (`auth: {bearer: ...}`), what is wrong
    inside that form, rather than that no form fits."""
    if error.validator != "oneOf" or not isinstance(error.instance, dict):
        return [error]
    forms = [s.get("required", [None])[0] for s in error.validator_value]
    chosen = [i for i, form in enumerate(forms) if form in error.instance]
    if len(chosen) != 1 or len(error.instance) != 1:
        return [error]
    inside = [e for e in error.context or () if e.relative_schema_path[0] == chosen[0]]
    return [leaf for e in inside for leaf in _chosen_form(e)] or [error]


def _schema_problem(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, except where it would quote what was written under `auth`:
    a secret pasted into the file must not reach the error that refuses it."""
    if error.validator == "oneOf":
        forms = [s["required"][0] for s in error.validator_value if s.get("required")]
        return "give exactly one of " + ", ".join(forms)
    if "auth" not in error.absolute_path or error.validator in ("additionalProperties",
                                                                "required"):
        return error.message
    return f"not valid ({error.validator}: {error.validator_value!r})"


def _where(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(file)"
