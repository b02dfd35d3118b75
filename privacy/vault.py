"""The identity vault: identifying fields, encrypted, in a store of their own.

Each value is sealed with AES-GCM under the vault key: a fresh 96-bit nonce per value,
and the pseudonym, field and source as associated data, so a ciphertext moved to
another person or field fails to decrypt instead of yielding a wrong identity.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy.keys import KeyRing

IDENTITY_FIELDS = (
    "bsn", "given_name", "surname", "birth_date", "street", "house_number", "postcode",
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
)
"""


class VaultError(Exception):
    """A vault value could not be read back as stored (tampered, moved or wrong key)."""


@dataclass(frozen=True)
class IdentityRecord:
    """The identifying fields of one person as one source gave them."""

    person_pseudonym: str
    source: str
    fields: dict[str, str]


class IdentityVault:
    """Encrypted identifying fields keyed by internal pseudonym, in their own DuckDB file."""

    def __init__(self, path: Path, keyring: KeyRing):
        self.path = path
        self._keyring = keyring
        self._aead = AESGCM(keyring.derive("vault"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(path)) as con:
            con.execute(_SCHEMA)

    def store(self, records: Iterable[IdentityRecord]) -> int:
        """Encrypt and upsert every non-empty field of `records`; return values stored."""
        now = datetime.now(UTC).replace(tzinfo=None)
        rows: dict[str, list] = {k: [] for k in
                                 ("person_pseudonym", "field", "source", "nonce", "ciphertext")}
        for record in records:
            for field, value in record.fields.items():
                if value in (None, ""):
                    continue
                nonce = os.urandom(12)
                aad = _aad(record.person_pseudonym, field, record.source)
                rows["person_pseudonym"].append(record.person_pseudonym)
                rows["field"].append(field)
                rows["source"].append(record.source)
                rows["nonce"].append(nonce)
                rows["ciphertext"].append(self._aead.encrypt(nonce, str(value).encode(), aad))
        table = pa.table(rows, schema=pa.schema([
            ("person_pseudonym", pa.string()), ("field", pa.string()), ("source", pa.string()),
            ("nonce", pa.binary()), ("ciphertext", pa.binary()),
        ]))
        with duckdb.connect(str(self.path)) as con:
            con.register("incoming", table)
            con.execute(
                "insert or replace into identity_fields "
                "select person_pseudonym, field, source, ?, nonce, ciphertext, ? from incoming",
                [self._keyring.version, now],
            )
        return table.num_rows

    def fetch(
        self, pseudonyms: Sequence[str], fields: Sequence[str],
        source_preference: Sequence[str] = (),
    ) -> dict[str, dict[str, str]]:
        """Decrypt `fields` for `pseudonyms`; where sources differ, the preferred one wins.

        Raises VaultError on a value that fails authentication. Callers outside privacy/
        go through `privacy.reidentify`, which checks the purpose first.
        """
        if not pseudonyms or not fields:
            return {}
        rank = {source: i for i, source in enumerate(source_preference)}
        with duckdb.connect(str(self.path), read_only=True) as con:
            con.register("wanted", pa.table({"p": list(pseudonyms)}))
            rows = con.execute(
                "select person_pseudonym, field, source, key_version, nonce, ciphertext "
                "from identity_fields join wanted on person_pseudonym = p "
                "where list_contains(?, field)",
                [list(fields)],
            ).fetchall()
        chosen: dict[tuple[str, str], tuple[int, str]] = {}
        for pseudonym, field, source, version, nonce, ciphertext in rows:
            value = self._decrypt(pseudonym, field, source, version, nonce, ciphertext)
            order = rank.get(source, len(rank))
            if (pseudonym, field) not in chosen or order < chosen[(pseudonym, field)][0]:
                chosen[(pseudonym, field)] = (order, value)
        result: dict[str, dict[str, str]] = {}
        for (pseudonym, field), (_, value) in chosen.items():
            result.setdefault(pseudonym, {})[field] = value
        return result

    def _decrypt(self, pseudonym, field, source, version, nonce, ciphertext) -> str:
        if version != self._keyring.version:
            raise VaultError(
                f"vault value for field {field!r} is under key version {version}, "
                f"the loaded key is version {self._keyring.version}"
            )
        try:
            return self._aead.decrypt(nonce, ciphertext, _aad(pseudonym, field, source)).decode()
        except InvalidTag:
            raise VaultError(
                f"vault value for field {field!r} from source {source!r} failed authentication "
                f"(tampered, moved to another person, or a different key)"
            ) from None


def _aad(pseudonym: str, field: str, source: str) -> bytes:
    return f"{pseudonym}|{field}|{source}".encode()
