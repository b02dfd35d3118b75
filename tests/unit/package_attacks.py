"""What a recipient holding its own private key can do to a package: take the inner
signed zip out and seal it again, as anyone who knows the (public) format could."""

from __future__ import annotations

import io
import json
import os
import zipfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ketenbrug.privacy import sealing
from ketenbrug.privacy.sealing import MAGIC, hub_key_id, seal_package

HUB = Ed25519PrivateKey.generate()
GM0363 = X25519PrivateKey.generate()
GM0072 = X25519PrivateKey.generate()
DATA = {"warm_handover.csv": b"bsn,name\n1,x\n"}


def package(as_of="2026-11-27", generated="2026-11-27T06:00:00+00:00", *, signer=HUB,
            recipient="GM0363", key=GM0363) -> bytes:
    manifest = {"purpose": "warm_handover", "as_of_date": as_of, "generated_at": generated}
    return seal_package(DATA, manifest, recipient_id=recipient, recipient_key=key.public_key(),
                        signing_key=signer)


def inner_zip(blob: bytes, key: X25519PrivateKey, recipient: str) -> bytes:
    """The signed inner zip, decrypted by the recipient the package was sealed for."""
    header_bytes, _, body = blob[len(MAGIC):].partition(b"\n")
    header = json.loads(header_bytes)
    epk = bytes.fromhex(header["epk"])
    aead_key = sealing._derive(key.exchange(X25519PublicKey.from_public_bytes(epk)), epk,
                               key.public_key(), recipient, header["hub_key_id"])
    return AESGCM(aead_key).decrypt(body[:12], body[12:], MAGIC + header_bytes)


def encrypt(inner: bytes, *, to_id: str, to_key: X25519PublicKey, kid: str | None = None) -> bytes:
    """Seal `inner` for `to_id` the way the hub would, with a header naming `to_id`."""
    kid = kid or hub_key_id(HUB.public_key())
    ephemeral = X25519PrivateKey.generate()
    epk = ephemeral.public_key().public_bytes(sealing._RAW, sealing._RAW_PUB)
    header = json.dumps({"format": 2, "recipient": to_id, "hub_key_id": kid,
                         "alg": sealing._ALG, "epk": epk.hex()}, sort_keys=True).encode()
    key = sealing._derive(ephemeral.exchange(to_key), epk, to_key, to_id, kid)
    nonce = os.urandom(12)
    return MAGIC + header + b"\n" + nonce + AESGCM(key).encrypt(nonce, inner, MAGIC + header)


def reencrypted_for_gm0072() -> bytes:
    """GM0363 passes its package on to GM0072 as if the hub had sent it there."""
    return encrypt(inner_zip(package(), GM0363, "GM0363"), to_id="GM0072",
                   to_key=GM0072.public_key())


def with_data_swapped() -> bytes:
    """GM0363 changes a data file and seals the signed manifest around it again."""
    inner = inner_zip(package(), GM0363, "GM0363")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(inner)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, b"bsn,name\n2,y\n" if name.startswith("data/") else data)
    return encrypt(out.getvalue(), to_id="GM0363", to_key=GM0363.public_key())


def header_readdressed() -> bytes:
    """The clear header's recipient edited to GM0072, ciphertext left as it was."""
    blob = package()
    return blob.replace(b'"recipient": "GM0363"', b'"recipient": "GM0072"', 1)


def forged_claiming_the_hub_key() -> bytes:
    """Signed by another key, with a header naming the hub's key id."""
    forged = package(signer=Ed25519PrivateKey.generate())
    forger_kid = json.loads(forged[len(MAGIC):].partition(b"\n")[0])["hub_key_id"]
    inner = inner_zip(forged, GM0363, "GM0363")
    assert forger_kid != hub_key_id(HUB.public_key())
    return encrypt(inner, to_id="GM0363", to_key=GM0363.public_key())


def format_v1() -> bytes:
    return b"KBPKG1\n" + package()[len(MAGIC):]
