import random
import secrets

import numpy as np
import pyarrow as pa
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from ketenbrug.privacy.s2v import KEY_BYTES, S2V


@pytest.fixture
def key():
    return secrets.token_bytes(KEY_BYTES)


def _reference(key: bytes, value: str) -> bytes:
    """The synthetic IV exactly as cryptography's AES-SIV computes it."""
    return AESSIV(key).encrypt(value.encode(), None)[:16]


def test_one_value_is_aes_siv_synthetic_iv(key):
    assert S2V(key).tag(b"bsn:111222333") == _reference(key, "bsn:111222333")


def test_batch_equals_aes_siv_for_values_of_every_length(key):
    rng = random.Random(7)
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzéçø|:-"
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
              for _ in range(2_000)]
    values += ["x" * n for n in range(1, 34)]  # every length around one and two blocks
    tags = S2V(key).tags(values)
    assert [bytes(row) for row in tags] == [_reference(key, v) for v in values]


def test_batch_of_one_shape_equals_aes_siv(key):
    values = [f"bsn:{100000000 + i}" for i in range(5_000)]
    tags = S2V(key).tags(pa.array(values))
    assert [bytes(row) for row in tags] == [_reference(key, v) for v in values]


def test_a_sliced_arrow_array_gives_the_tags_of_its_own_values(key):
    values = pa.array([f"bsn:{100000000 + i}" for i in range(100)] + ["long value " * 3])
    window = values.slice(40, 61)
    assert [bytes(r) for r in S2V(key).tags(window)] == [
        _reference(key, v) for v in window.to_pylist()]


def test_another_key_gives_other_tags(key):
    values = ["bsn:111222333", "nbd:jansen|anna|1990-04-01"]
    assert not np.array_equal(S2V(key).tags(values), S2V(secrets.token_bytes(64)).tags(values))


@pytest.mark.parametrize("values", [[""], ["bsn:1", ""], pa.array(["bsn:1", None])])
def test_empty_or_missing_values_are_refused(key, values):
    with pytest.raises(ValueError, match="nothing to pseudonymise"):
        S2V(key).tags(values)


def test_empty_batch_gives_no_tags(key):
    assert S2V(key).tags([]).shape == (0, 16)


def test_key_of_wrong_size_is_refused():
    with pytest.raises(ValueError, match="64 bytes"):
        S2V(bytes(32))
