import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ketenbrug.privacy import PackageError, open_package, seal_package
from ketenbrug.privacy.csv_safe import neutralise

HUB = Ed25519PrivateKey.generate()
MUNICIPALITY = X25519PrivateKey.generate()


def _package():
    return seal_package({"data.csv": b"a,b\n1,2\n"}, {"purpose": "warm_handover"},
                        recipient_id="GM0363", recipient_key=MUNICIPALITY.public_key(),
                        signing_key=HUB)


def test_recipient_opens_and_checksums_verify():
    opened = open_package(_package(), recipient_id="GM0363", recipient_key=MUNICIPALITY,
                          hub_key=HUB.public_key())
    assert opened.files == {"data.csv": b"a,b\n1,2\n"}
    assert opened.manifest["recipient"] == "GM0363"
    assert opened.manifest["purpose"] == "warm_handover"


def test_package_is_not_readable_without_the_key():
    assert b"1,2" not in _package()


def test_other_recipient_is_refused():
    with pytest.raises(PackageError, match="not meant for this key"):
        open_package(_package(), recipient_id="GM0363",
                     recipient_key=X25519PrivateKey.generate(), hub_key=HUB.public_key())


def test_altered_package_is_refused():
    blob = bytearray(_package())
    blob[-5] ^= 0x01
    with pytest.raises(PackageError, match="altered"):
        open_package(bytes(blob), recipient_id="GM0363", recipient_key=MUNICIPALITY,
                     hub_key=HUB.public_key())


def test_package_signed_by_someone_else_is_refused():
    forged = seal_package({"data.csv": b"x"}, {}, recipient_id="GM0363",
                          recipient_key=MUNICIPALITY.public_key(),
                          signing_key=Ed25519PrivateKey.generate())
    with pytest.raises(PackageError, match="another hub key"):
        open_package(forged, recipient_id="GM0363", recipient_key=MUNICIPALITY,
                     hub_key=HUB.public_key())


@pytest.mark.parametrize("cell, expected", [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+31", "'+31"), ("-1", "'-1"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"), ("Jansen", "Jansen"),
    (None, ""), (3, "3"),
])
def test_csv_cells_that_a_spreadsheet_would_execute_are_neutralised(cell, expected):
    assert neutralise(cell) == expected
