"""Privacy-core speeds: pseudonyms per second and vault encrypt/decrypt rates.

Pseudonyms are AES-SIV synthetic IVs (privacy.s2v); two HMAC-SHA256 forms are timed
beside them for comparison with ../shared/STACK.md (they are not what the hub uses).

Run: .venv/bin/python benchmarks/privacy_core.py [--n 1000000]   (prints figures; no assertions)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
from cryptography.hazmat.primitives import hashes, hmac

from ketenbrug.privacy import IdentityRecord, IdentityVault, KeyStore, Pseudonymiser, rotate_keys

# A synthetic identity shape: the fields a source hands the vault (values made up per row).
_IDENTITY = {"bsn": "1", "surname": "Achternaam", "given_name": "Voornaam",
             "birth_date": "1980-01-"}


def _median_seconds(work, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _hmac_template_copy(key: bytes, values: list[str]) -> None:
    template = hmac.HMAC(key, hashes.SHA256())
    for value in values:
        mac = template.copy()
        mac.update(value.encode())
        mac.finalize()


def _duckdb_sql_hmac(key: bytes, values: list[str]) -> None:
    ipad = bytes(b ^ 0x36 for b in key.ljust(64, b"\0"))
    opad = bytes(b ^ 0x5C for b in key.ljust(64, b"\0"))
    with duckdb.connect() as con:
        con.register("v", pa.table({"x": values}))
        con.execute("select sha256(?::blob || unhex(sha256(?::blob || encode(x)))) from v",
                    [opad, ipad]).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--vault-n", type=int, default=200_000)
    args = parser.parse_args()
    values = [f"bsn:{100_000_000 + i}" for i in range(args.n)]
    with tempfile.TemporaryDirectory() as tmp:
        keys = KeyStore(Path(tmp) / "keys")
        keyring = keys.init()
        internal = Pseudonymiser(keyring, "internal")
        arrow_values = pa.array(values, pa.string())
        print(f"pseudonymise {args.n:,} identifiers, one process (median of 3):")
        started = time.perf_counter()
        internal.pseudonyms(values)
        cold = time.perf_counter() - started
        _print_rate("batch, first call in a fresh process", cold, args.n)
        for label, work in [
            ("batch, list of str in and out", lambda: internal.pseudonyms(values)),
            ("batch, Arrow array in and out", lambda: internal.pseudonyms_arrow(arrow_values)),
            ("one value at a time", lambda: [internal.pseudonym(v) for v in values]),
            ("compare: HMAC-SHA256 digests, .copy()",
             lambda: _hmac_template_copy(keyring.derive("x"), values)),
            ("compare: HMAC-SHA256 digests, DuckDB SQL",
             lambda: _duckdb_sql_hmac(keyring.derive("x"), values)),
        ]:
            _print_rate(label, _median_seconds(work), args.n)

        vault_path = Path(tmp) / "vault.duckdb"
        vault = IdentityVault(vault_path, keys)
        persons = args.vault_n // len(_IDENTITY)
        records = [IdentityRecord(p, "dji", {f: f"{v}{i}" for f, v in _IDENTITY.items()})
                   for i, p in enumerate(internal.pseudonyms(
                       [f"bsn:{100_000_000 + i}" for i in range(persons)]))]
        values = persons * len(_IDENTITY)
        started = time.perf_counter()
        vault.store(records)
        encrypt = time.perf_counter() - started
        started = time.perf_counter()
        vault.fetch([r.person_pseudonym for r in records], list(_IDENTITY))
        decrypt = time.perf_counter() - started
        started = time.perf_counter()
        rotate_keys(keys, vault_path, Path(tmp) / "no-warehouse.duckdb")
        rotation = time.perf_counter() - started
        print(f"vault, {persons:,} persons x {len(_IDENTITY)} fields = {values:,} values "
              "(AES-256-GCM, fresh nonce, DuckDB write/read):")
        print(f"  encrypt + store   {encrypt:6.2f} s  {values / encrypt:10,.0f} values/s")
        print(f"  read + decrypt    {decrypt:6.2f} s  {values / decrypt:10,.0f} values/s")
        print(f"  key rotation      {rotation:6.2f} s  {values / rotation:10,.0f} values/s "
              "(open, re-pseudonymise, reseal, keep lineage)")


def _print_rate(label: str, seconds: float, count: int) -> None:
    print(f"  {label:<40} {seconds:6.2f} s  {count / seconds / 1e6:5.2f} M/s")


if __name__ == "__main__":
    main()
