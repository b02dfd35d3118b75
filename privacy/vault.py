"""The identity vault: identifying fields, encrypted, in a store of their own.

Each value is sealed with AES-GCM under the vault key of the current key version: a
fresh 96-bit nonce per value, and the pseudonym, field and source as associated data,
so a ciphertext moved to another person or field fails to decrypt instead of yielding
a wrong identity. Values keep the key version they were sealed under.

The vault also keeps each key version's check value (`key_checks`), recorded on its
first use of the version and compared on every open and first use of a version after:
a master key file replaced together with its `.kcv` is still refused (KeyMismatch),
instead of sealing new values under a key that cannot read the old ones. A vault from
before check values records them on first use (trust on first use).

Where it lives (a `Target`):
- a DuckDB file of its own (embedded profile), owner-only (0600); one group or others
  can read is refused;
- a PostgreSQL database of its own (postgres profile), reached with its own role, which
  the warehouse role cannot connect to (`ketenbrug db setup`). The tables live in a
  schema `vault`, created by the vault role and granted to no one: a second wall behind
  the database's CONNECT privilege that does not depend on what a server version grants
  PUBLIC on `public` (CREATE until PostgreSQL 15), so a role that is ever let into the
  database still finds nothing it may read.
The SQL is written once (`binary_type` for the byte columns); the schema's placement
differs per engine (`_connection`), and so does how (pseudonym, field, source) is kept
unique. PostgreSQL holds it as a primary key (a B-tree on disk). DuckDB keeps a primary
key as an ART index that must sit wholly in memory (130 bytes a value: 1 GB of the hub's
process for the ~8M values of 1M clients), so its vault has none: every write is read,
decided and written in one transaction under the vault's writer lock (`_writing`), and
DuckDB's file lock keeps any other process out. A list of
pseudonyms is bound as one array parameter (`in (select unnest(cast(? as varchar[])))`)
rather than registered as a table: a READ ONLY PostgreSQL transaction, which every vault
read is, may not create the temporary table `register` fills.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ketenbrug.databases import (
    PostgresTarget,
    Target,
    binary_type,
    dialect,
    exists,
    open_postgres,
)
from ketenbrug.privacy.file_modes import (
    FileModeError,
    make_database_private,
    private_dir,
    require_private,
)
from ketenbrug.privacy.keys import (
    KeyMaterialError,
    KeyMismatch,
    KeyRing,
    KeyStore,
    key_mismatch,
)
from ketenbrug.privacy.sealed_stamps import sealed_stamps_of, sealed_table

# The vault's tables on PostgreSQL; DuckDB keeps them in its file's `main`.
PG_SCHEMA = "vault"
_TABLES_SCHEMA = {"duckdb": "main", "postgres": PG_SCHEMA}

_SCHEMA = """
create table if not exists identity_fields (
    person_pseudonym varchar not null,
    field varchar not null,
    source varchar not null,
    key_version integer not null,
    nonce {binary} not null,
    ciphertext {binary} not null,
    stored_at timestamp not null{identity_key}
);
create table if not exists pseudonym_lineage (
    old_pseudonym varchar not null,
    new_pseudonym varchar not null,
    from_version integer not null,
    to_version integer not null,
    rotated_at timestamp not null
);
create table if not exists key_checks (
    key_version integer primary key,
    check_value varchar not null,
    recorded_at timestamp not null
);
"""
_ARROW_SCHEMA = pa.schema([
    ("person_pseudonym", pa.string()), ("field", pa.string()), ("source", pa.string()),
    ("key_version", pa.int32()), ("nonce", pa.binary()), ("ciphertext", pa.binary()),
])
_NONCE_BYTES = 12  # AES-GCM's 96-bit nonce
# DuckDB's buffer for a unit of work on the vault: its queries stream (a scan of the
# vault, a chunk's values), and without a limit DuckDB keeps what it read cached, up to
# 80% of the machine (2.5 GB of the hub's process at 1M clients).
_DUCKDB_MEMORY = "256MB"
_IDENTITY_KEY = {"duckdb": "", "postgres": ",\n    primary key (person_pseudonym, field, source)"}
# One writer at a time per vault in this process (threads); DuckDB's file lock keeps
# other processes out, PostgreSQL's primary key any writer it does not.
_WRITER_LOCKS: dict[str, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


class VaultError(Exception):
    """A vault value could not be read back as stored (tampered, moved or wrong key)."""


class VaultKeyMismatch(VaultError, KeyMismatch):
    """The master key is not the one the vault recorded for its version: replaced."""


@dataclass(frozen=True)
class IdentityRecord:
    """The identifying fields of one person as one source gave them."""

    person_pseudonym: str
    source: str
    fields: dict[str, str]


class IdentityVault:
    """Encrypted identifying fields keyed by internal pseudonym, in a store of their own:
    a DuckDB file or a PostgreSQL database (`target`)."""

    def __init__(self, target: Target | str, keys: KeyStore):
        self.target: Target = target if isinstance(target, PostgresTarget) else Path(target)
        self._keys = keys
        self._current = keys.current()
        self._aeads: dict[int, AESGCM] = {}
        if isinstance(self.target, PostgresTarget):
            _create_postgres_schema(self.target)
            self._require_known_key(self._current)
        else:  # on the connection that makes the tables: one open of the file, not two
            _create_duckdb_file(self.target, then=lambda con: self._check_key(con, self._current))
        self._known_versions = {self._current.version}

    @property
    def path(self) -> Path:
        """The vault's DuckDB file (embedded profile only; `target` on either engine)."""
        if isinstance(self.target, PostgresTarget):
            raise VaultError(f"the vault is a PostgreSQL database ({self.target}), not a file")
        return self.target

    @property
    def key_version(self) -> int:
        return self._current.version

    @property
    def keys(self) -> KeyStore:
        return self._keys

    def store(self, records: Iterable[IdentityRecord]) -> int:
        """Encrypt and store every non-empty field of `records` that is new or changed;
        return how many values were stored.

        A value given twice (one person twice in a batch) is stored once, the later one
        winning. A value the vault already holds, under the current key, is left as
        sealed: a source re-sending an unchanged record changes nothing, so
        `sealed_stamp` changes only when an identity does. What is held is read in the
        same transaction as the write, under the writer lock: no other writer can store
        the same value in between.
        """
        latest = {(r.person_pseudonym, f, r.source): v for r in records
                  for f, v in r.fields.items() if v not in (None, "")}
        if not latest:
            return 0
        with _writing(self.target) as con:
            held = self._held(con, latest)
            for key, value in held.items():
                if latest[key] == value:
                    del latest[key]
            if not latest:  # all as held: nothing sealed, nothing written
                return 0
            table = self._seal((p, f, s, v) for (p, f, s), v in latest.items())
            con.register("incoming", table)
            if any(key in held for key in latest):  # a changed value replaces the old one
                con.execute("delete from identity_fields using incoming i "
                            "where identity_fields.person_pseudonym = i.person_pseudonym "
                            "and identity_fields.field = i.field "
                            "and identity_fields.source = i.source")
            con.execute("insert into identity_fields select *, ? from incoming",
                        [datetime.now(UTC).replace(tzinfo=None)])
        return table.num_rows

    def fetch(
        self, pseudonyms: Sequence[str], fields: Sequence[str],
        source_preference: Sequence[str] = (),
    ) -> dict[str, dict[str, str]]:
        """Decrypt `fields` for `pseudonyms`; where sources differ, the preferred one wins.

        Raises VaultError on a value that fails authentication or whose key version is
        not available. Callers outside privacy/ go through `privacy.reidentify`.
        """
        if not pseudonyms or not fields:
            return {}
        rank = {source: i for i, source in enumerate(source_preference)}
        with _connection(self.target, read_only=True) as con:
            rows = con.execute(
                "select person_pseudonym, field, source, key_version, nonce, ciphertext "
                "from identity_fields "
                "where person_pseudonym in (select unnest(cast(? as varchar[]))) "
                "and field in (select unnest(cast(? as varchar[])))",
                [list(pseudonyms), list(fields)]).fetchall()
        chosen: dict[tuple[str, str], tuple[int, str]] = {}
        for pseudonym, field, source, version, nonce, ciphertext in rows:
            value = self._open(pseudonym, field, source, version, nonce, ciphertext)
            order = rank.get(source, len(rank))
            if (pseudonym, field) not in chosen or order < chosen[(pseudonym, field)][0]:
                chosen[(pseudonym, field)] = (order, value)
        result: dict[str, dict[str, str]] = {}
        for (pseudonym, field), (_, value) in chosen.items():
            result.setdefault(pseudonym, {})[field] = value
        return result

    def sealed_stamp(self, pseudonyms: Sequence[str], fields: Sequence[str]) -> str:
        """A digest of how `fields` of `pseudonyms` are sealed, without opening any value.

        It changes when one of those identities changes (stored anew), is purged or is
        resealed under another key, and only then: a delivery compares it to decide
        whether a recipient's package would differ, without re-identifying anyone.
        """
        return self.sealed_stamps({"": pseudonyms}, fields)[""]

    def sealed_stamps(self, groups: Mapping[str, Sequence[str]], fields: Sequence[str]
                      ) -> dict[str, str]:
        """`sealed_stamp` of each group's pseudonyms (per recipient, say), in one read of
        the vault rather than one per group."""
        wanted = sorted({p for pseudonyms in groups.values() for p in pseudonyms})
        query = ("select person_pseudonym, field, source, key_version, nonce "
                 "from identity_fields "
                 "where person_pseudonym in (select unnest(cast(? as varchar[]))) "
                 "and field in (select unnest(cast(? as varchar[])))")
        with _connection(self.target, read_only=True) as con:
            if isinstance(self.target, PostgresTarget):
                sealed = sealed_table(con.execute(query, [wanted, list(fields)]).fetchall())
            else:
                sealed = con.sql(query, params=[wanted, list(fields)]).to_arrow_table()
        return sealed_stamps_of(sealed, groups)

    def _held(self, con: Any, keys: Iterable[tuple[str, str, str]]
              ) -> dict[tuple[str, str, str], str | None]:
        """Which (pseudonym, field, source) `keys` the vault holds, each with its value
        opened where it is sealed under the current key version (None where it is not:
        it is resealed anyway)."""
        wanted = set(keys)
        rows = con.execute(
            "select person_pseudonym, field, source, key_version, nonce, ciphertext "
            "from identity_fields where person_pseudonym in (select unnest(cast(? as varchar[])))",
            [sorted({p for p, _, _ in wanted})]).fetchall()
        current = self._current.version
        return {(p, f, src): self._open(p, f, src, v, n, c) if v == current else None
                for p, f, src, v, n, c in rows if (p, f, src) in wanted}

    def fetch_all_sources(self, pseudonyms: Sequence[str]) -> list[tuple[str, str, str, str]]:
        """(pseudonym, field, source, value) of every value held for `pseudonyms`."""
        with _connection(self.target, read_only=True) as con:
            rows = con.execute(
                "select person_pseudonym, field, source, key_version, nonce, ciphertext "
                "from identity_fields "
                "where person_pseudonym in (select unnest(cast(? as varchar[]))) "
                "order by source, field", [list(pseudonyms)]).fetchall()
        return [(p, f, s, self._open(p, f, s, v, n, c)) for p, f, s, v, n, c in rows]

    def purge(self, pseudonyms: Sequence[str]) -> int:
        """Remove every value of `pseudonyms` (retention); return how many values went."""
        with _writing(self.target) as con:
            gone = con.execute(
                "delete from identity_fields "
                "where person_pseudonym in (select unnest(cast(? as varchar[]))) returning 1",
                [list(pseudonyms)]).fetchall()
        return len(gone)

    def pseudonyms(self) -> set[str]:
        """Every person the vault holds a value for."""
        with _connection(self.target, read_only=True) as con:
            return {p for (p,) in con.execute(
                "select distinct person_pseudonym from identity_fields").fetchall()}

    def known(self, pseudonyms: Sequence[str]) -> set[str]:
        """Which of `pseudonyms` the vault holds a value for: one query, nothing decrypted
        (the identity detectors' look-up of a number that may be a known person's BSN)."""
        if not pseudonyms:
            return set()
        with _connection(self.target, read_only=True) as con:
            return {p for (p,) in con.execute(
                "select distinct person_pseudonym from identity_fields "
                "where person_pseudonym in (select unnest(cast(? as varchar[])))",
                [list(pseudonyms)]).fetchall()}

    def decrypt_all(self) -> Iterator[tuple[str, str, str, str]]:
        """Yield (pseudonym, field, source, value) for every value (rotation, access requests)."""
        with _connection(self.target, read_only=True) as con:
            rows = con.execute(
                "select person_pseudonym, field, source, key_version, nonce, ciphertext "
                "from identity_fields order by person_pseudonym, field, source").fetchall()
        for pseudonym, field, source, version, nonce, ciphertext in rows:
            yield pseudonym, field, source, self._open(
                pseudonym, field, source, version, nonce, ciphertext)

    def reseal_all(self, values: Iterable[tuple[str, str, str, str]],
                   lineage: dict[str, str], from_version: int) -> int:
        """Replace every value with `values` sealed under the current key, in one transaction.

        `lineage` maps each old pseudonym to its new one and is kept, so linkage history
        survives the rotation. Returns the number of values sealed.
        """
        table = self._seal(values)
        now = datetime.now(UTC).replace(tzinfo=None)
        links = pa.table({"old_pseudonym": list(lineage), "new_pseudonym": list(lineage.values())})
        with _writing(self.target) as con:
            con.execute("delete from identity_fields")
            con.register("incoming", table)
            con.execute("insert into identity_fields select *, ? from incoming", [now])
            con.register("links", links)
            con.execute("insert into pseudonym_lineage select old_pseudonym, "
                        "new_pseudonym, ?, ?, ? from links",
                        [from_version, self.key_version, now])
        return table.num_rows

    def lineage(self) -> list[tuple[str, str, int, int]]:
        """Every (old, new, from_version, to_version) link recorded by rotations."""
        with _connection(self.target, read_only=True) as con:
            return con.execute("select old_pseudonym, new_pseudonym, from_version, to_version "
                               "from pseudonym_lineage "
                               "order by rotated_at, old_pseudonym").fetchall()

    def _seal(self, values: Iterable[tuple[str, str, str, str]]) -> pa.Table:
        aead, version = self._aead(self._current.version), self._current.version
        values = list(values)
        # A fresh random 96-bit nonce per value, drawn in one read of the OS's generator
        # rather than a system call per value.
        randomness = os.urandom(_NONCE_BYTES * len(values))
        nonces = [randomness[i:i + _NONCE_BYTES]
                  for i in range(0, len(randomness), _NONCE_BYTES)]
        return pa.table({
            "person_pseudonym": [p for p, _, _, _ in values],
            "field": [f for _, f, _, _ in values],
            "source": [s for _, _, s, _ in values],
            "key_version": [version] * len(values),
            "nonce": nonces,
            "ciphertext": [aead.encrypt(nonce, str(value).encode(), _aad(p, f, s))
                           for nonce, (p, f, s, value) in zip(nonces, values, strict=True)],
        }, schema=_ARROW_SCHEMA)

    def _aead(self, version: int) -> AESGCM:
        if version not in self._aeads:
            try:
                keyring = self._keys.load(version)
            except KeyMaterialError as exc:
                raise VaultError(f"vault value needs key version {version}: {exc}") from None
            if version not in self._known_versions:
                self._require_known_key(keyring)
                self._known_versions.add(version)
            self._aeads[version] = AESGCM(keyring.derive("vault"))
        return self._aeads[version]

    def _require_known_key(self, keyring: KeyRing) -> None:
        """Refuse (KeyMismatch) a key whose check value differs from the one this vault
        recorded for its version; record it when the vault has none yet."""
        with _connection(self.target) as con:
            self._check_key(con, keyring)

    def _check_key(self, con: Any, keyring: KeyRing) -> None:
        """`_require_known_key` on an open connection."""
        check = keyring.check_value()
        # A vault from before check values, or a version's first use: record it.
        con.execute("insert into key_checks values (?, ?, ?) "
                    "on conflict (key_version) do nothing",
                    [keyring.version, check, datetime.now(UTC).replace(tzinfo=None)])
        row = con.execute("select check_value from key_checks where key_version = ?",
                          [keyring.version]).fetchone()
        if row is None or row[0] != check:
            raise VaultKeyMismatch(str(key_mismatch(keyring.version, self._keys.keys_dir,
                                                    "the vault was sealed with")))

    def _open(self, pseudonym, field, source, version, nonce, ciphertext) -> str:
        try:
            return self._aead(version).decrypt(
                nonce, ciphertext, _aad(pseudonym, field, source)).decode()
        except InvalidTag:
            raise VaultError(
                f"vault value for field {field!r} from source {source!r} failed authentication "
                f"(tampered, moved to another person, or a different key)") from None


def vault_key_checks(target: Target | str) -> dict[int, str]:
    """The check value the vault at `target` recorded per key version (read-only; empty
    for a vault that does not exist yet or predates check values)."""
    target = _as_target(target)
    if not exists(target):
        return {}
    with _connection(target, read_only=True) as con:
        if not _has_table(con, "key_checks"):
            return {}
        return dict(con.execute("select key_version, check_value from key_checks").fetchall())


def sealed_key_versions(target: Target | str) -> list[int]:
    """The key versions the vault's values are sealed under (read-only; empty for a vault
    that does not exist yet): what a key rotation compares with the current key."""
    target = _as_target(target)
    if not exists(target):
        return []
    with _connection(target, read_only=True) as con:
        if not _has_table(con, "identity_fields"):
            return []
        return sorted(v for (v,) in con.execute(
            "select distinct key_version from identity_fields").fetchall())


def key_check_problems(keys: KeyStore, vault: Target | str) -> dict[int, str]:
    """Per key version that fails its check, why: a key file that does not load or does
    not match its `.kcv`, or whose check value differs from the one the vault recorded.
    Reads only; never raises for a mismatch (`keys status` reports them all)."""
    recorded = vault_key_checks(vault)
    problems = {}
    for version in keys.versions():
        try:
            check = keys.load(version).check_value()
        except KeyMaterialError as exc:
            problems[version] = str(exc)
            continue
        if version in recorded and recorded[version] != check:
            problems[version] = str(key_mismatch(version, keys.keys_dir,
                                                 "the vault was sealed with"))
    return problems


@contextmanager
def _connection(target: Target, *, read_only: bool = False) -> Iterator[Any]:
    """A connection for one unit of work that finds the vault's tables unqualified."""
    if isinstance(target, PostgresTarget):
        with open_postgres(target, read_only=read_only) as con:
            # pg_temp last: a temporary table can never stand in for a vault table.
            con.execute(f"set search_path = {PG_SCHEMA}, pg_temp")
            yield con
    else:
        with duckdb.connect(str(target), read_only=read_only,
                            config={"memory_limit": _DUCKDB_MEMORY}) as con:
            yield con


@contextmanager
def _writing(target: Target) -> Iterator[Any]:
    """One write to the vault: a transaction under this process's writer lock for it,
    committed at the end, rolled back on any error."""
    with _writer_lock(target), _connection(target) as con, _transaction(con):
        yield con


@contextmanager
def _transaction(con: Any) -> Iterator[None]:
    """Commit what the block did, or roll it back on any error."""
    con.begin()
    try:
        yield
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _writer_lock(target: Target) -> threading.Lock:
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(str(target), threading.Lock())


def _create_duckdb_file(path: Path, then: Callable[[Any], None]) -> None:
    """The vault's file with its tables, owner-only; `then` runs on the same connection."""
    private_dir(path.parent)
    if path.exists():
        try:
            require_private(path, what="identity vault")
        except FileModeError as exc:
            raise VaultError(str(exc)) from None
    try:
        with _writer_lock(path), duckdb.connect(
                str(path), config={"memory_limit": _DUCKDB_MEMORY}) as con:
            con.execute(_schema_sql(con))
            _drop_duckdb_identity_index(con)
            then(con)
    finally:  # DuckDB creates the file with the process's umask; private even if `then` refused
        make_database_private(path)


def _drop_duckdb_identity_index(con: Any) -> None:
    """A vault an earlier version made, with a primary key, has its values table rebuilt
    without it, once, in one transaction (the module's docstring says why)."""
    indexed = con.execute(
        "select count(*) from duckdb_constraints() where table_name = 'identity_fields' "
        "and constraint_type = 'PRIMARY KEY'").fetchone()
    if not indexed or not indexed[0]:
        return
    with _transaction(con):
        con.execute("alter table identity_fields rename to identity_fields_indexed")
        con.execute(_schema_sql(con))
        con.execute("insert into identity_fields select * from identity_fields_indexed")
        con.execute("drop table identity_fields_indexed")


def _schema_sql(con: Any) -> str:
    """The vault's tables as this engine keeps them (module docstring: the identity key)."""
    return _SCHEMA.format(binary=binary_type(con), identity_key=_IDENTITY_KEY[dialect(con)])


def _create_postgres_schema(target: PostgresTarget) -> None:
    """The schema and its tables, created by the vault role (their owner), once.

    Under an advisory lock, so two processes opening a new vault at once do not race on
    `create ... if not exists` (which PostgreSQL does not make atomic).
    """
    with open_postgres(target) as con, _transaction(con):
        con.execute("select pg_advisory_xact_lock(hashtext('ketenbrug.vault.schema'))")
        if con.execute("select 1 from pg_namespace where nspname = ?",
                       [PG_SCHEMA]).fetchone() is None:
            con.execute(f"create schema {PG_SCHEMA}")
        con.execute(f"set local search_path = {PG_SCHEMA}")
        con.execute(_schema_sql(con))


def _has_table(con: Any, table: str) -> bool:
    row = con.execute("select count(*) from information_schema.tables "
                      "where table_schema = ? and table_name = ?",
                      [_TABLES_SCHEMA[dialect(con)], table]).fetchone()
    return row is not None and row[0] > 0


def _as_target(target: Target | str) -> Target:
    return target if isinstance(target, PostgresTarget) else Path(target)


def _aad(pseudonym: str, field: str, source: str) -> bytes:
    return f"{pseudonym}|{field}|{source}".encode()
