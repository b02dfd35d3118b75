"""The identity vault: identifying fields, encrypted, in a store of their own.

Each value is sealed with AES-GCM under the vault key of the current key version: a
fresh 96-bit nonce per value, and the pseudonym, field and source as associated data,
so a ciphertext moved to another person or field fails to decrypt instead of yielding
a wrong identity. Values keep the key version they were sealed under.

The vault also keeps each key version's check value (`key_checks`), recorded on its
first use of the version and compared on every open and first use of a version after:
a master key file replaced together with its `.kcv` is still refused (KeyMismatch),
instead of sealing new values under a key that cannot read the old ones. A vault from
before check values records them on first use (trust on first use). The vault file is
owner-only (0600); one group or others can read is refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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

_SCHEMA = """
create table if not exists identity_fields (
    person_pseudonym varchar not null,
    field varchar not null,
    source varchar not null,
    key_version integer not null,
    nonce blob not null,
    ciphertext blob not null,
    stored_at timestamp not null,
    primary key (person_pseudonym, field, source)
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
    """Encrypted identifying fields keyed by internal pseudonym, in their own DuckDB file."""

    def __init__(self, path: Path, keys: KeyStore):
        self.path = path
        self._keys = keys
        self._current = keys.current()
        self._aeads: dict[int, AESGCM] = {}
        private_dir(path.parent)
        if path.exists():
            try:
                require_private(path, what="identity vault")
            except FileModeError as exc:
                raise VaultError(str(exc)) from None
        with duckdb.connect(str(path)) as con:
            con.execute(_SCHEMA)
        make_database_private(path)  # DuckDB creates the file with the process's umask
        self._require_known_key(self._current)

    @property
    def key_version(self) -> int:
        return self._current.version

    @property
    def keys(self) -> KeyStore:
        return self._keys

    def store(self, records: Iterable[IdentityRecord]) -> int:
        """Encrypt and upsert every non-empty field of `records`; return values stored."""
        table = self._seal(
            (r.person_pseudonym, f, r.source, v) for r in records
            for f, v in r.fields.items() if v not in (None, ""))
        self._upsert(table)
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
        with duckdb.connect(str(self.path), read_only=True) as con:
            con.register("wanted", pa.table({"p": list(pseudonyms)}))
            rows = con.execute(
                "select person_pseudonym, field, source, key_version, nonce, ciphertext "
                "from identity_fields join wanted on person_pseudonym = p "
                "where list_contains(?, field)", [list(fields)]).fetchall()
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

    def fetch_all_sources(self, pseudonyms: Sequence[str]) -> list[tuple[str, str, str, str]]:
        """(pseudonym, field, source, value) of every value held for `pseudonyms`."""
        with duckdb.connect(str(self.path), read_only=True) as con:
            con.register("wanted", pa.table({"p": list(pseudonyms)}))
            rows = con.execute(
                "select person_pseudonym, field, source, key_version, nonce, ciphertext "
                "from identity_fields join wanted on person_pseudonym = p "
                "order by source, field").fetchall()
        return [(p, f, s, self._open(p, f, s, v, n, c)) for p, f, s, v, n, c in rows]

    def purge(self, pseudonyms: Sequence[str]) -> int:
        """Remove every value of `pseudonyms` (retention); return how many values went."""
        with duckdb.connect(str(self.path)) as con:
            con.register("gone", pa.table({"p": list(pseudonyms)}))
            row = con.execute("select count(*) from identity_fields join gone "
                              "on person_pseudonym = p").fetchone()
            assert row is not None  # count(*) always returns a row
            (removed,) = row
            con.execute("delete from identity_fields where person_pseudonym in "
                        "(select p from gone)")
        return removed

    def pseudonyms(self) -> set[str]:
        """Every person the vault holds a value for."""
        with duckdb.connect(str(self.path), read_only=True) as con:
            return {p for (p,) in con.execute(
                "select distinct person_pseudonym from identity_fields").fetchall()}

    def known(self, pseudonyms: Sequence[str]) -> set[str]:
        """Which of `pseudonyms` the vault holds a value for: one query, nothing decrypted
        (the identity detectors' look-up of a number that may be a known person's BSN)."""
        if not pseudonyms:
            return set()
        with duckdb.connect(str(self.path), read_only=True) as con:
            con.register("asked", pa.table({"p": list(pseudonyms)}))
            return {p for (p,) in con.execute(
                "select distinct person_pseudonym from identity_fields "
                "join asked on person_pseudonym = p").fetchall()}

    def decrypt_all(self) -> Iterator[tuple[str, str, str, str]]:
        """Yield (pseudonym, field, source, value) for every value (rotation, access requests)."""
        with duckdb.connect(str(self.path), read_only=True) as con:
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
        with duckdb.connect(str(self.path)) as con:
            con.execute("begin transaction")
            con.execute("delete from identity_fields")
            con.register("incoming", table)
            con.execute("insert into identity_fields select *, ? from incoming", [now])
            con.register("links", links)
            con.execute("insert into pseudonym_lineage select old_pseudonym, new_pseudonym, "
                        "?, ?, ? from links", [from_version, self.key_version, now])
            con.execute("commit")
        return table.num_rows

    def lineage(self) -> list[tuple[str, str, int, int]]:
        """Every (old, new, from_version, to_version) link recorded by rotations."""
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute("select old_pseudonym, new_pseudonym, from_version, to_version "
                               "from pseudonym_lineage order by rotated_at").fetchall()

    def _seal(self, values: Iterable[tuple[str, str, str, str]]) -> pa.Table:
        aead, version = self._aead(self._current.version), self._current.version
        columns: dict[str, list] = {name: [] for name in _ARROW_SCHEMA.names}
        for pseudonym, field, source, value in values:
            nonce = os.urandom(12)
            columns["person_pseudonym"].append(pseudonym)
            columns["field"].append(field)
            columns["source"].append(source)
            columns["key_version"].append(version)
            columns["nonce"].append(nonce)
            columns["ciphertext"].append(
                aead.encrypt(nonce, str(value).encode(), _aad(pseudonym, field, source)))
        return pa.table(columns, schema=_ARROW_SCHEMA)

    def _upsert(self, table: pa.Table) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with duckdb.connect(str(self.path)) as con:
            con.register("incoming", table)
            con.execute("insert or replace into identity_fields select *, ? from incoming", [now])

    def _aead(self, version: int) -> AESGCM:
        if version not in self._aeads:
            try:
                keyring = self._keys.load(version)
            except KeyMaterialError as exc:
                raise VaultError(f"vault value needs key version {version}: {exc}") from None
            self._require_known_key(keyring)
            self._aeads[version] = AESGCM(keyring.derive("vault"))
        return self._aeads[version]

    def _require_known_key(self, keyring: KeyRing) -> None:
        """Refuse (KeyMismatch) a key whose check value differs from the one this vault
        recorded for its version; record it when the vault has none yet."""
        check = keyring.check_value()
        with duckdb.connect(str(self.path)) as con:
            # A vault from before check values, or a version's first use: record it.
            con.execute("insert or ignore into key_checks values (?, ?, ?)",
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


def vault_key_checks(path: Path) -> dict[int, str]:
    """The check value the vault at `path` recorded per key version (read-only; empty for
    a vault that does not exist or predates check values)."""
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        if con.execute("select count(*) from information_schema.tables "
                       "where table_name = 'key_checks'").fetchone() == (0,):
            return {}
        return dict(con.execute("select key_version, check_value from key_checks").fetchall())


def key_check_problems(keys: KeyStore, vault_path: Path) -> dict[int, str]:
    """Per key version that fails its check, why: a key file that does not load or does
    not match its `.kcv`, or whose check value differs from the one the vault recorded.
    Reads only; never raises for a mismatch (`keys status` reports them all)."""
    recorded = vault_key_checks(vault_path)
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


def _aad(pseudonym: str, field: str, source: str) -> bytes:
    return f"{pseudonym}|{field}|{source}".encode()
