"""The sealed stamp on Arrow (privacy/sealed_stamps.py) is, byte for byte, the per-value
digest the delivery log already holds: a different one would send every municipality its
package again."""

import hashlib
import random
import secrets

import pytest

from ketenbrug.privacy.sealed_stamps import sealed_stamps_of, sealed_table


def per_value_stamps(rows, groups):
    """The stamp as first defined: each value's part, ordered by Python, digested in turn."""
    sealed: dict[str, list[bytes]] = {}
    for pseudonym, field, source, version, nonce in sorted(rows, key=lambda r: r[:3]):
        sealed.setdefault(pseudonym, []).append(
            f"{pseudonym}|{field}|{source}|{version}|".encode() + bytes(nonce))
    stamps = {}
    for group, pseudonyms in groups.items():
        digest = hashlib.sha256()
        for pseudonym in sorted(set(pseudonyms)):
            for part in sealed.get(pseudonym, ()):
                digest.update(part)
        stamps[group] = digest.hexdigest()
    return stamps


def random_vault(rng: random.Random, persons: int):
    """Rows as the vault holds them, in no particular order, with names outside ASCII."""
    fields = ["bsn", "given_name", "surname", "birth_date"]
    sources = ["dji", "reclassering", "zorg-é"]
    pseudonyms = [secrets.token_hex(rng.choice([8, 16])) for _ in range(persons)]
    pseudonyms += ["ørsted", "Zoë"]
    rows = [(p, f, s, rng.randint(1, 12), secrets.token_bytes(12))
            for p in pseudonyms for f in fields for s in sources if rng.random() < 0.6]
    rng.shuffle(rows)
    return pseudonyms, rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stamps_are_the_per_value_digests(seed):
    rng = random.Random(seed)
    pseudonyms, rows = random_vault(rng, 400)
    groups = {f"GM{n:04}": rng.sample(pseudonyms, rng.randint(0, 60)) for n in range(30)}
    groups["twice"] = pseudonyms[:5] * 2  # a person listed twice counts once
    groups["unknown"] = ["nobody-in-the-vault"]
    groups["empty"] = []
    assert sealed_stamps_of(sealed_table(rows), groups) == per_value_stamps(rows, groups)


def test_a_resealed_value_changes_only_the_stamps_of_groups_holding_that_person():
    rng = random.Random(4)
    pseudonyms, rows = random_vault(rng, 50)
    groups = {"with": pseudonyms[:10], "without": pseudonyms[10:20]}
    before = sealed_stamps_of(sealed_table(rows), groups)
    changed = next(i for i, row in enumerate(rows) if row[0] == pseudonyms[3])
    rows[changed] = (*rows[changed][:4], secrets.token_bytes(12))  # stored anew: a new nonce
    after = sealed_stamps_of(sealed_table(rows), groups)
    assert after["with"] != before["with"]
    assert after["without"] == before["without"]


def test_an_empty_vault_gives_the_digest_of_nothing():
    assert sealed_stamps_of(sealed_table([]), {"GM0001": ["p1"]}) == {
        "GM0001": hashlib.sha256().hexdigest()}
