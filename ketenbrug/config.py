"""The hub's one configuration: every setting typed, read once, validated all at once.

Each setting has a name (`pg_port`), an environment variable (`KETENBRUG_PG_PORT`), a
default and a check. Values come, highest first, from the environment, from a YAML file
(`KETENBRUG_CONFIG`, else `./ketenbrug.yaml` when it exists; keys are the names) and from
the defaults. `Settings.load()` reports every missing or wrong value in one ConfigError
rather than failing on the first, and names where each came from.

Secrets (passwords, source credentials) are read from the environment only: a file is
easily committed or copied, so a secret found in one is refused. They never print:
`ketenbrug config show` masks them, and `repr` leaves them out.

Both people-facing entry points are built from this object: the CLI, and Dagster's
resources (pipelines/resources.py `resources_for`), so `audit verify` checks the log the
hub writes. Child processes (dbt, Dagster's step workers) get the same values through
`export()`. `.env.example` lists every setting with its default (`ketenbrug config
example` prints it; a test holds the two equal).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ketenbrug import yaml_files
from ketenbrug.connectors.manifest import SOURCES
from ketenbrug.databases import PostgresTarget, Target
from ketenbrug.privacy.log_tables import PostgresLines

PROFILES = ("embedded", "postgres")
EXECUTORS = ("in_process", "multiprocess", "celery")
CONFIG_FILE_ENV = "KETENBRUG_CONFIG"
DEFAULT_CONFIG_FILE = "ketenbrug.yaml"


class ConfigError(Exception):
    """One or more settings are missing or wrong; the message names every one."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"the configuration has {len(problems)} problem"
                         f"{'s' if len(problems) != 1 else ''}:\n"
                         + "\n".join(f"  - {p}" for p in problems))


# -- checks: each turns a text into a value, or raises ValueError with the reason -------------
def _text(value: str) -> str:
    return value


def _path(value: str) -> str:
    return value  # resolved against where it came from, in `_resolve_paths`


def _choice(*allowed: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value
    return check


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError("not a port number (1-65535)")
    return int(value)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ValueError("not a whole number of 1 or more")
    return int(value)


def _identifier(value: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
        raise ValueError("not a plain lowercase PostgreSQL name")
    return value


def _iso_date(value: str) -> str:
    if value:
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError("not a date (YYYY-MM-DD)") from None
    return value


def _year_month(value: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise ValueError("not a month (YYYY-MM)")
    return value


def _duckdb_size(value: str) -> str:
    if value and not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value):
        raise ValueError("not a DuckDB memory size (e.g. 1GB, 512MB); empty: DuckDB's own "
                         "default, 80% of the machine's memory")
    return value


def _http_url(value: str) -> str:
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL")
    return value


def _delivery_template(value: str) -> str:
    _http_url(value)
    if value and "{recipient}" not in value:
        raise ValueError("must hold {recipient}, where the recipient's code goes")
    return value


def _broker_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("pyamqp", "amqp", "amqps", "redis") or not parts.hostname:
        raise ValueError("not a Celery broker URL (pyamqp://user@host:5672//)")
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    check: Callable[[str], Any] = _text
    secret: bool = False
    env_name: str = ""

    @property
    def env(self) -> str:
        return self.env_name or f"KETENBRUG_{self.name.upper()}"


def _source_settings() -> list[Setting]:
    found = []
    for slug in SOURCES:
        found += [Setting(f"{slug}_url", "", f"{slug}: base URL of the source system",
                          _http_url),
                  Setting(f"{slug}_credential", "", f"{slug}: its bearer token or API key",
                          secret=True)]
    return found


# Paths default to places under `home`; `{home}` is filled in once home is known.
CATALOGUE: tuple[Setting, ...] = (
    Setting("profile", "embedded", "embedded: DuckDB files, one process (demo, tests); "
            "postgres: the production profile", _choice(*PROFILES)),
    Setting("home", "./var", "where the hub keeps its files (keys, outbox, log, instance)",
            _path),
    Setting("warehouse", "{home}/warehouse.duckdb", "embedded: the DuckDB warehouse file",
            _path),
    Setting("vault", "{home}/vault.duckdb", "embedded: the identity vault's DuckDB file",
            _path),
    Setting("duckdb_memory_limit", "", "embedded: the memory DuckDB may use for dbt's "
            "builds before it spills to disk (e.g. 4GB; empty: DuckDB's default, 80% of the "
            "machine's; 1GB is too little for client_profiles at 1M clients)", _duckdb_size),
    Setting("keys_dir", "{home}/keys", "the hub's keys (owner-only)", _path),
    Setting("outbox", "{home}/outbox", "sealed packages for recipients", _path),
    Setting("disclosure_log", "{home}/audit/disclosures.jsonl",
            "embedded: the hash-chained log of every disclosure (postgres: schema audit "
            "of the warehouse database)", _path),
    Setting("dagster_home", "{home}/dagster_home", "Dagster's instance folder", _path,
            env_name="DAGSTER_HOME"),
    Setting("as_of_date", "", "the date the hub acts as of; empty: today", _iso_date),
    Setting("billing_first_month", "2025-01", "the first month municipalities are billed "
            "for (YYYY-MM): the billing job's first partition", _year_month),
    Setting("delivery_url", "", "POST packages to this URL ({recipient} filled in) "
            "instead of the outbox", _delivery_template),
    Setting("pg_host", "127.0.0.1", "postgres: the server", _text),
    Setting("pg_port", "5432", "postgres: its port", _port),
    Setting("pg_dbname", "ketenbrug", "postgres: the warehouse database", _identifier),
    Setting("pg_user", "ketenbrug", "postgres: the warehouse role", _identifier),
    Setting("pg_password", "", "postgres: the warehouse role's password", secret=True),
    Setting("pg_schema", "ketenbrug", "postgres: the schema dbt builds the models in",
            _identifier),
    Setting("vault_pg_dbname", "ketenbrug_vault", "postgres: the vault's own database",
            _identifier),
    Setting("vault_pg_user", "ketenbrug_vault", "postgres: the vault's own role",
            _identifier),
    Setting("vault_pg_password", "", "postgres: the vault role's password", secret=True),
    Setting("dagster_pg_dbname", "ketenbrug_dagster",
            "postgres: Dagster's run, event and schedule storage (warehouse role)",
            _identifier),
    Setting("executor", "", "in_process, multiprocess or celery; empty: in_process "
            "(embedded), multiprocess (postgres)", _choice("", *EXECUTORS)),
    Setting("max_concurrent_runs", "", "runs the queue starts at once; empty: 1 "
            "(embedded), 4 (postgres)", lambda v: _positive(v) if v else None),
    Setting("celery_broker", "pyamqp://guest@127.0.0.1:5672//",
            "executor celery: the broker (RabbitMQ)", _broker_url),
    Setting("sources_file", "", "production: a sources.yaml naming each source's URL, "
            "authentication (bearer, API key, OAuth2), mutual TLS, time-outs, rate limit, page "
            "cap and schedule (connectors/sources.schema.json); empty: the URL and credential "
            "variables below", _path),
    Setting("portal_port", "8050", "the portal's port (`ketenbrug portal`)", _port),
    Setting("portal_idle_minutes", "15", "a portal session ends after this many minutes "
            "without a request", _positive),
    Setting("dagster_ui_url", "http://127.0.0.1:3000", "the Dagster UI, linked from the "
            "portal's data-steward page", _http_url),
    Setting("oidc_issuer", "", "the portal's OpenID Connect provider (its issuer URL, "
            "discovery at /.well-known/openid-configuration); empty: local accounts only",
            _http_url),
    Setting("oidc_client_id", "", "the portal's client id at the OpenID Connect provider"),
    Setting("oidc_client_secret", "", "the portal's client secret there", secret=True),
    *_source_settings(),
)
BY_NAME = {s.name: s for s in CATALOGUE}


@dataclass(frozen=True)
class Settings:
    """The effective configuration: a value and its origin for every setting."""

    values: Mapping[str, Any]
    origins: Mapping[str, str]

    # -- reading ------------------------------------------------------------------------------
    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None,
             file: Path | None = None) -> Settings:
        """Read the file and the environment once; ConfigError names every bad value."""
        environ = os.environ if environ is None else environ
        raw: dict[str, tuple[str, str, Path]] = {}  # name -> (text, origin, relative to)
        problems: list[str] = []
        for name, text, origin, base in _from_file(environ, file, problems):
            raw[name] = (text, origin, base)
        for setting in CATALOGUE:
            if setting.env in environ:
                raw[setting.name] = (environ[setting.env], "environment", Path.cwd())
        values: dict[str, Any] = {}
        origins: dict[str, str] = {}
        for setting in CATALOGUE:
            text, origin, base = raw.get(setting.name, (setting.default, "default", Path.cwd()))
            try:
                values[setting.name] = setting.check(text)
            except ValueError as reason:
                shown = "***" if setting.secret else repr(text)
                problems.append(f"{setting.env}={shown} ({origin}): {reason}")
                continue
            origins[setting.name] = origin
            if setting.check is _path:
                values[setting.name] = (text, base)
        _resolve_paths(values)
        problems += _consistency(values)
        if problems:
            raise ConfigError(problems)
        return cls(values=values, origins=origins)

    @classmethod
    def from_env(cls) -> Settings:
        return cls.load()

    @classmethod
    def for_home(cls, home: Path, **overrides: str) -> Settings:
        """The defaults under `home` (tests, tools); `overrides` by setting name."""
        environ = {BY_NAME[name].env: value for name, value in overrides.items()}
        environ[BY_NAME["home"].env] = str(home)
        return cls.load(environ, file=Path(os.devnull))

    def require_sources(self) -> None:
        """Every source system is configured: in the sources file, checked whole (secrets
        present, certificates usable), or by its URL and credential variables;
        ConfigError names everything missing or wrong."""
        if self.sources_file is not None:
            from ketenbrug.connectors.source_config import SourcesError, load_sources

            try:
                load_sources(self.sources_file, required=SOURCES)
            except SourcesError as error:
                raise ConfigError([f"{BY_NAME['sources_file'].env}={self.sources_file}: {p}"
                                   for p in error.problems]) from None
            return
        missing = [BY_NAME[name].env for slug in SOURCES
                   for name in (f"{slug}_url", f"{slug}_credential") if not self.values[name]]
        if missing:
            raise ConfigError([f"{env} is not set (a source system the hub pulls from)"
                               for env in missing])

    @property
    def sources_file(self) -> Path | None:
        value = self.values["sources_file"]
        return None if value is None else Path(value)

    # -- the hub's places ---------------------------------------------------------------------
    @property
    def profile(self) -> str:
        return str(self.values["profile"])

    @property
    def home(self) -> Path:
        return Path(self.values["home"])

    @property
    def warehouse_path(self) -> Path:
        return Path(self.values["warehouse"])

    @property
    def vault_path(self) -> Path:
        return Path(self.values["vault"])

    @property
    def keys_dir(self) -> Path:
        return Path(self.values["keys_dir"])

    @property
    def outbox_dir(self) -> Path:
        return Path(self.values["outbox"])

    @property
    def disclosure_log(self) -> Path | PostgresLines:
        """The hash-chained disclosure log: a file (embedded), or a table of the warehouse
        database (postgres), where every step process, on any machine, appends to it."""
        warehouse = self.warehouse
        if isinstance(warehouse, PostgresTarget):
            return PostgresLines(warehouse)
        return Path(self.values["disclosure_log"])

    @property
    def dagster_home(self) -> Path:
        return Path(self.values["dagster_home"])

    @property
    def as_of_date(self) -> str:
        return str(self.values["as_of_date"])

    @property
    def billing_first_month(self) -> str:
        return str(self.values["billing_first_month"])

    @property
    def delivery_url(self) -> str:
        return str(self.values["delivery_url"])

    @property
    def warehouse(self) -> Target:
        """The warehouse: a DuckDB file (embedded) or a PostgreSQL database (postgres)."""
        if self.profile != "postgres":
            return self.warehouse_path
        return self._postgres("pg_dbname", "pg_user", "pg_password")

    @property
    def vault(self) -> Target:
        """The identity vault: its own DuckDB file, or its own PostgreSQL database and role."""
        if self.profile != "postgres":
            return self.vault_path
        return self._postgres("vault_pg_dbname", "vault_pg_user", "vault_pg_password")

    @property
    def dagster_storage(self) -> PostgresTarget | None:
        """Dagster's run, event and schedule storage on PostgreSQL; None: SQLite under
        dagster_home (embedded)."""
        if self.profile != "postgres":
            return None
        return self._postgres("dagster_pg_dbname", "pg_user", "pg_password")

    @property
    def duckdb_memory_limit(self) -> str:
        return str(self.values["duckdb_memory_limit"])

    @property
    def pg_schema(self) -> str:
        return str(self.values["pg_schema"])

    @property
    def executor(self) -> str:
        chosen = str(self.values["executor"])
        return chosen or ("multiprocess" if self.profile == "postgres" else "in_process")

    @property
    def max_concurrent_runs(self) -> int:
        chosen = self.values["max_concurrent_runs"]
        return int(chosen) if chosen else (4 if self.profile == "postgres" else 1)

    @property
    def celery_broker(self) -> str:
        return str(self.values["celery_broker"])

    def portal(self, name: str) -> str:
        """A portal setting as text: portal_port, portal_idle_minutes, dagster_ui_url,
        oidc_issuer, oidc_client_id, oidc_client_secret."""
        return self._text(BY_NAME[name])

    def source(self, slug: str) -> tuple[str, str]:
        """A source system's base URL and credential ('' when not configured)."""
        return str(self.values[f"{slug}_url"]), str(self.values[f"{slug}_credential"])

    def _postgres(self, dbname: str, user: str, password: str) -> PostgresTarget:
        return PostgresTarget(host=str(self.values["pg_host"]), port=int(self.values["pg_port"]),
                              dbname=str(self.values[dbname]), user=str(self.values[user]),
                              password=str(self.values[password]))

    # -- showing and handing on ---------------------------------------------------------------
    def shown(self) -> list[tuple[str, str, str]]:
        """(variable, value, origin) per setting; secrets masked, never shown."""
        rows = []
        for setting in CATALOGUE:
            value = self._text(setting)
            if setting.secret:
                value = "***" if value else "(not set)"
            elif setting.name == "celery_broker":
                value = re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", value)
            rows.append((setting.env, value, self.origins[setting.name]))
        return rows

    def export(self) -> dict[str, str]:
        """Every setting as the variables child processes (dbt, Dagster's workers) read:
        they see the same hub, file-given values included."""
        exported = {setting.env: self._text(setting) for setting in CATALOGUE}
        exported["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        # Dagster hands a run's planned events and a partitioned materialization's events
        # to the storage in batches (one transaction each on embedded:
        # pipelines/event_log_storage.py); a hub run's planned events fit in one.
        exported["DAGSTER_EVENT_BATCH_SIZE"] = "1000"
        # dbt's profile reads these (dbt_project/profiles.yml); one name per value.
        exported["KETENBRUG_DBT_TARGET"] = "postgres" if self.profile == "postgres" else "duckdb"
        return exported

    def _text(self, setting: Setting) -> str:
        value = self.values[setting.name]
        return "" if value is None else str(value)

    def __repr__(self) -> str:
        return f"Settings(profile={self.profile!r}, home={str(self.home)!r})"


def _from_file(environ: Mapping[str, str], file: Path | None,
               problems: list[str]) -> list[tuple[str, str, str, Path]]:
    """(name, text, origin, folder) per setting the YAML file gives; problems appended."""
    if file is None:
        named = environ.get(CONFIG_FILE_ENV)
        file = Path(named) if named else Path(DEFAULT_CONFIG_FILE)
        if not named and not file.exists():
            return []
    if str(file) == os.devnull:
        return []
    if not file.is_file():
        problems.append(f"{CONFIG_FILE_ENV}={str(file)!r}: no such file")
        return []
    try:
        data = yaml_files.safe_load(file.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        problems.append(f"{file}: not valid YAML ({str(error).splitlines()[0]})")
        return []
    if not isinstance(data, dict):
        problems.append(f"{file}: must be a mapping of setting names to values")
        return []
    found = []
    for name, value in data.items():
        setting = BY_NAME.get(str(name))
        if setting is None:
            problems.append(f"{file}: unknown setting {name!r} (see `ketenbrug config show`)")
        elif setting.secret:
            problems.append(f"{file}: {name} is a secret: set {setting.env} in the "
                            "environment instead, and remove it from the file")
        else:
            text = "" if value is None else str(value).lower() if isinstance(value, bool) \
                else str(value)
            found.append((setting.name, text, str(file), file.resolve().parent))
    return found


def _resolve_paths(values: dict[str, Any]) -> None:
    """Absolute paths: relative ones against where they were given; `{home}` filled in."""
    text, base = values["home"]
    home = (base / Path(text).expanduser()).resolve()
    values["home"] = home
    for setting in CATALOGUE:
        if setting.check is _path and setting.name != "home":
            text, base = values[setting.name]
            if not text:  # an optional file, not given
                values[setting.name] = None
            elif "{home}" in text:
                values[setting.name] = Path(text.replace("{home}", str(home))).resolve()
            else:
                values[setting.name] = (base / Path(text).expanduser()).resolve()


def _consistency(values: Mapping[str, Any]) -> list[str]:
    """Settings that are each fine but wrong together."""
    problems = []
    if values.get("profile") == "embedded":
        if values.get("executor") in ("multiprocess", "celery"):
            problems.append(f"{BY_NAME['executor'].env}={values['executor']!r}: the embedded "
                            "profile's DuckDB files take one writer; use profile postgres")
        if values.get("max_concurrent_runs") not in (None, 1):
            problems.append(f"{BY_NAME['max_concurrent_runs'].env}="
                            f"{values['max_concurrent_runs']}: the embedded profile runs "
                            "one at a time (one writer per DuckDB file)")
    return problems


def source_env(slug: str) -> tuple[str, str]:
    """Names of the variables holding a source system's base URL and credential."""
    return BY_NAME[f"{slug}_url"].env, BY_NAME[f"{slug}_credential"].env


def example_env() -> str:
    """The text of `.env.example`: every setting, its default and what it is for."""
    lines = ["# Every setting Ketenbrug reads, with its default (ketenbrug/config.py; "
             "`ketenbrug config example`",
             "# prints this file). The same names, lowercase and without KETENBRUG_, may be "
             "set in ketenbrug.yaml",
             "# (or the file KETENBRUG_CONFIG names); the environment wins. Secrets only in "
             "the environment.",
             "# Never commit a filled-in .env. Paths under the home are left commented out: "
             "they follow KETENBRUG_HOME.", ""]
    for setting in CATALOGUE:
        lines.append(f"# {setting.help}{' (secret)' if setting.secret else ''}")
        if "{home}" in setting.default:
            lines.append(f"# {setting.env}={setting.default.replace('{home}', './var')}")
        else:
            lines.append(f"{setting.env}={setting.default}")
    return "\n".join(lines) + "\n"
