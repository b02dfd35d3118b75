"""A municipality's own public key: what is accepted, what is refused, and what is kept."""

from __future__ import annotations

import base64
import multiprocessing

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ketenbrug.delivery.recipient_keys import (
    KeyRefused,
    fingerprint,
    parse_public_key,
    recipient_public_key,
    register_key,
    registrations,
)

CODE = "GM0363"


def _raw(key) -> bytes:
    return key.public_key().public_bytes_raw()


@pytest.mark.parametrize("form", ["pem", "base64", "hex", "hex with spaces"])
def test_each_common_form_of_an_x25519_public_key_is_read(form):
    key = X25519PrivateKey.generate()
    raw = _raw(key)
    text = {"pem": key.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
            "base64": base64.b64encode(raw).decode(),
            "hex": raw.hex(),
            "hex with spaces": " ".join(raw.hex()[i:i + 8] for i in range(0, 64, 8))}[form]
    assert parse_public_key(text).public_bytes_raw() == raw


@pytest.mark.parametrize("text, says", [
    ("", "no key given"),
    ("not a key: ~!", "neither base64, hex"),
    (base64.b64encode(b"\x01" * 31).decode(), "31 bytes"),
    (base64.b64encode(b"\x00" * 32).decode(), "low-order"),
    (Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
     "Ed25519 key"),
])
def test_unusable_keys_are_refused_saying_why(text, says):
    with pytest.raises(KeyRefused, match=says):
        parse_public_key(text)


def test_a_registered_key_replaces_the_stand_in_and_its_history_is_kept(tmp_path):
    keys = tmp_path / "keys"
    stand_in = recipient_public_key(keys, CODE).public_bytes_raw()
    first, second = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    register_key(keys, CODE, first.public_key(), "gemeente-a")
    assert recipient_public_key(keys, CODE).public_bytes_raw() == _raw(first) != stand_in
    done = register_key(keys, CODE, second.public_key(), "gemeente-b")
    assert done.replaced == fingerprint(first.public_key())
    assert recipient_public_key(keys, CODE).public_bytes_raw() == _raw(second)
    assert [(r.registered_by, r.fingerprint) for r in registrations(keys, CODE)] == [
        ("gemeente-b", fingerprint(second.public_key())),
        ("gemeente-a", fingerprint(first.public_key()))]
    with pytest.raises(KeyRefused, match="already the registered one"):
        register_key(keys, CODE, second.public_key(), "gemeente-a")
    # The stand-in's files are untouched: packages sealed to it can still be opened.
    assert (keys / "recipients" / f"{CODE}.pub").read_bytes() == stand_in


def _register_one(keys_dir, login):
    register_key(keys_dir, CODE, X25519PrivateKey.generate().public_key(), login)


def test_two_registrations_at_once_both_land_in_the_history(tmp_path):
    keys = tmp_path / "keys"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_register_one, args=(keys, f"login-{n}"))
               for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    history = registrations(keys, CODE)
    assert sorted(r.registered_by for r in history) == ["login-0", "login-1"]
    # One replaced the other, in the order the history records.
    assert history[0].replaced == history[1].fingerprint
    assert fingerprint(recipient_public_key(keys, CODE)) == history[0].fingerprint
