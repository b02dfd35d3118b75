"""Every tampering attempt of issue 14 part 2, one row each: what was tried, and the
refusal the person opening the package, or running the hub, reads."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from ketenbrug.privacy import (
    IdentityRecord,
    IdentityVault,
    KeyMaterialError,
    KeyStore,
    OpenedPackages,
    PackageError,
    VaultError,
    open_package,
)
from ketenbrug.privacy.file_modes import FileModeError
from ketenbrug.privacy.sealing import (
    load_or_create_recipient_key,
    load_or_create_signing_key,
    load_private_key,
)
from ketenbrug.warehouse import connection
from tests.unit import package_attacks as attack

OTHER_HUB = attack.Ed25519PrivateKey.generate()


def _open(blob: bytes, recipient="GM0363", key=attack.GM0363, hub=attack.HUB) -> None:
    open_package(blob, recipient_id=recipient, recipient_key=key, hub_key=hub.public_key())


def _replayed(tmp_path: Path) -> None:
    state = OpenedPackages(tmp_path / "GM0363.opened.json")
    newer = _opened(attack.package(as_of="2026-11-27"))
    state.check(newer)
    state.remember(newer)
    state.check(_opened(attack.package(as_of="2026-11-20",
                                       generated="2026-11-20T06:00:00+00:00")))


def _opened(blob: bytes):
    return open_package(blob, recipient_id="GM0363", recipient_key=attack.GM0363,
                        hub_key=attack.HUB.public_key())


def _swap_master_key(keys: Path) -> None:
    (keys / "master-v1.key").unlink()
    fd = os.open(keys / "master-v1.key", os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))


def _swapped_master_key(tmp_path: Path) -> None:
    KeyStore(tmp_path / "keys").init()
    _swap_master_key(tmp_path / "keys")
    KeyStore(tmp_path / "keys").current()


def _swapped_key_and_check_value(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys")
    keys.init()
    vault = IdentityVault(tmp_path / "vault.duckdb", keys)
    vault.store([IdentityRecord("p1", "probation", {"bsn": "111222333"})])
    _swap_master_key(tmp_path / "keys")
    (tmp_path / "keys" / "master-v1.kcv").unlink()  # the swapper writes a matching one
    KeyStore(tmp_path / "keys").current()
    IdentityVault(tmp_path / "vault.duckdb", KeyStore(tmp_path / "keys"))


def _widened(path: Path) -> Path:
    os.chmod(path, 0o644)
    return path


def _signing_key_0644(tmp_path: Path) -> None:
    load_or_create_signing_key(tmp_path / "keys")
    _widened(tmp_path / "keys" / "hub-signing.key")
    load_or_create_signing_key(tmp_path / "keys")


def _recipient_key_0644(tmp_path: Path) -> None:
    load_or_create_recipient_key(tmp_path / "keys", "GM0363")
    load_private_key(_widened(tmp_path / "keys" / "recipients" / "GM0363.key"))


def _master_key_0644(tmp_path: Path) -> None:
    KeyStore(tmp_path / "keys").init()
    _widened(tmp_path / "keys" / "master-v1.key")
    KeyStore(tmp_path / "keys").current()


def _warehouse_0644(tmp_path: Path) -> None:
    with connection.connect(tmp_path / "warehouse.duckdb") as con:
        con.execute("create table t (x int)")
    _widened(tmp_path / "warehouse.duckdb")
    with connection.connect(tmp_path / "warehouse.duckdb", read_only=True):
        pass


def _vault_0644(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys")
    keys.init()
    IdentityVault(tmp_path / "vault.duckdb", keys)
    _widened(tmp_path / "vault.duckdb")
    IdentityVault(tmp_path / "vault.duckdb", keys)


ATTEMPTS: list[tuple[str, Callable[[Path], None], type[Exception], str]] = [
    ("package of GM0363 re-encrypted by GM0363 for GM0072",
     lambda _: _open(attack.reencrypted_for_gm0072(), "GM0072", attack.GM0072),
     PackageError, "re-addressed: signed for GM0363, encrypted for GM0072"),
    ("package of GM0363 opened as GM0072 (wrong --recipient)",
     lambda _: _open(attack.package(), "GM0072", attack.GM0072),
     PackageError, "not for you: addressed to GM0363, you are GM0072"),
    ("package of GM0363 opened with GM0363's key under another name",
     lambda _: _open(attack.header_readdressed(), "GM0072", attack.GM0363),
     PackageError, "altered or is not meant for this key"),
    ("package re-encrypted for the same code but another key",
     lambda _: _open(attack.encrypt(attack.inner_zip(attack.package(), attack.GM0363, "GM0363"),
                                    to_id="GM0363", to_key=attack.GM0072.public_key()),
                     "GM0363", attack.GM0072),
     PackageError, "re-addressed: signed for another key of GM0363"),
    ("package re-encrypted with a data file swapped",
     lambda _: _open(attack.with_data_swapped()),
     PackageError, "checksum of warm_handover.csv does not match the signed manifest"),
    ("package sealed under another hub key",
     lambda _: _open(attack.package(signer=OTHER_HUB)),
     PackageError, "from another hub key: the package names hub key [0-9a-f]{16}"),
    ("package forged with the hub's key id but another signature",
     lambda _: _open(attack.forged_claiming_the_hub_key()),
     PackageError, "manifest signature does not verify against the hub key"),
    ("package of format v1",
     lambda _: _open(attack.format_v1()),
     PackageError, "format v1 from before recipient binding; ask the hub to re-send"),
    ("older package replayed after a newer one was opened",
     _replayed,
     PackageError, "replayed: as of 2026-11-20 .*, older than 2026-11-27 .* already opened"),
    ("master key replaced by 32 random bytes (0600)",
     _swapped_master_key,
     KeyMaterialError, r"master key v1 under .* does not match the key recorded in "
                       r"master-v1.kcv \(check value differs\): the key file was replaced"),
    ("master key and its .kcv replaced together",
     _swapped_key_and_check_value,
     KeyMaterialError, r"master key v1 under .* does not match the key the vault was sealed "
                       r"with \(check value differs\): the key file was replaced"),
    ("master key made 0644",
     _master_key_0644,
     KeyMaterialError, r"master-v1.key is readable by others .*chmod 600"),
    ("hub signing key made 0644",
     _signing_key_0644,
     KeyMaterialError, r"hub-signing.key is readable by others .*chmod 600"),
    ("recipient key made 0644",
     _recipient_key_0644,
     KeyMaterialError, r"GM0363.key is readable by others .*chmod 600"),
    ("warehouse made 0644",
     _warehouse_0644,
     FileModeError, r"warehouse .*warehouse.duckdb is readable by others .*chmod 600"),
    ("identity vault made 0644",
     _vault_0644,
     VaultError, r"identity vault .*vault.duckdb is readable by others .*chmod 600"),
]


@pytest.mark.parametrize(("attempt", "error", "message"),
                         [(a, e, m) for _, a, e, m in ATTEMPTS], ids=[i for i, *_ in ATTEMPTS])
def test_tampering_attempt_is_refused(attempt, error, message, tmp_path):
    with pytest.raises(error, match=message):
        attempt(tmp_path)
