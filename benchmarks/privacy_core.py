"""Privacy-core speeds: pseudonyms per second and vault encrypt/decrypt rates.

Run: .venv/bin/python benchmarks/privacy_core.py [--n 1000000]   (prints figures; no assertions)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from privacy import IdentityRecord, IdentityVault, KeyStore, Pseudonymiser
from privacy.bulk import pseudonymise_bulk, pseudonymise_bulk_arrow


def _median_seconds(work, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


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
        single = Pseudonymiser(keyring, "internal")
        print(f"pseudonymise {args.n:,} identifiers on {os.cpu_count()} cores (median of 3):")
        for label, work in [
            ("one process, keyed template .copy()", lambda: single.pseudonyms(values)),
            ("all cores, list of str", lambda: pseudonymise_bulk(keyring, "internal", values)),
            ("all cores, Arrow array (bulk loads)",
             lambda: pseudonymise_bulk_arrow(keyring, "internal", values)),
            ("HMAC as DuckDB SQL", lambda: _duckdb_sql_hmac(keyring.derive("x"), values)),
        ]:
            seconds = _median_seconds(work)
            print(f"  {label:<38} {seconds:6.2f} s  {args.n / seconds / 1e6:5.2f} M/s")

        vault = IdentityVault(Path(tmp) / "vault.duckdb", keys)
        records = [IdentityRecord(f"p{i}", "dji", {"bsn": str(100_000_000 + i)})
                   for i in range(args.vault_n)]
        started = time.perf_counter()
        vault.store(records)
        encrypt = time.perf_counter() - started
        wanted = [r.person_pseudonym for r in records]
        started = time.perf_counter()
        vault.fetch(wanted, ["bsn"])
        decrypt = time.perf_counter() - started
        print(f"vault, {args.vault_n:,} values (AES-256-GCM, fresh nonce, DuckDB write/read):")
        print(f"  encrypt + store   {encrypt:6.2f} s  {args.vault_n / encrypt:10,.0f} values/s")
        print(f"  read + decrypt    {decrypt:6.2f} s  {args.vault_n / decrypt:10,.0f} values/s")


if __name__ == "__main__":
    main()
