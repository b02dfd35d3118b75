"""The identity detectors on a seeded set of free-text values: found, missed, false alarms.

Run: .venv/bin/python benchmarks/identity_detectors.py [--values 2000] [--seed 14]
(prints figures; no assertions). Half the values carry one identity of a known kind in
one of the forms people type (BSN solid or grouped, a vault-known BSN failing the
eleven-test, postcode with house number, a full date, a phone number, a personal e-mail
address, an IBAN), embedded in a short sentence; half are clean but tricky: functional
mailboxes, prison and AGB codes, partial dates, order numbers, 9-digit numbers failing the
eleven-test, a postcode without a house number, an IBAN with a wrong check. Each value is
scanned as a free-text field with the contact point's mailbox roles, as the boundary does.
Throughput is the median of 5 passes over the whole set, one core. Then the vault look-up
as the boundary does it, once per batch: every 9-digit token of the set pseudonymised and
asked of a throw-away vault holding `--vault-persons` BSNs (the known ones among them).
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import tempfile
import time
from collections import Counter
from pathlib import Path

from ketenbrug.privacy import (
    INTERNAL_DOMAIN,
    IdentityRecord,
    IdentityVault,
    KeyStore,
    Pseudonymiser,
)
from ketenbrug.privacy.identity_detection import (
    RULES,
    KnownBsns,
    find_identities,
    nine_digit_numbers,
)
from ketenbrug.simulators.bsn import invalidated_bsn, random_bsn

ROLES = ("team", "wijkteam")
CITIES = ("utrecht", "amersfoort", "s-hertogenbosch", "zeist", "ijsselstein", "houten")
NAMES = ("Jan Jansen", "Fatima el Amrani", "Piet de Vries", "Anna van der Berg", "Sem Bakker")
STREETS = ("Dorpsstraat", "Industrieweg", "Kerklaan", "Oudegracht", "Van Asch van Wijckstraat")
MONTHS = ("januari", "feb", "maart", "april", "mei", "juni", "juli", "aug", "september",
          "okt", "november", "dec")
SENTENCES = ("{x}", "contact: {x}", "{name} {x}", "bel {x} na 17u", "via moeder, {x}.",
             "NB {x} (niet doorgeven)", "{name}, {x}, zie dossier")


def _bsn_forms(rng: random.Random, bsn: str) -> str:
    return rng.choice([bsn, f"{bsn[:4]}.{bsn[4:6]}.{bsn[6:]}", f"{bsn[:3]} {bsn[3:6]} {bsn[6:]}",
                       f"BSN {bsn}", f"bsn:{bsn}"])


def _postcode(rng: random.Random) -> str:
    digits = rng.randint(1000, 9999)
    letters = "".join(rng.choices("ABCDEFGHJKLMNPRTVWXZ", k=2))
    return rng.choice([f"{digits} {letters}", f"{digits}{letters}"])


def _address(rng: random.Random) -> str:
    number = f"{rng.randint(1, 300)}{rng.choice(['', 'a', 'b', '-2', ' bis'])}"
    postcode = _postcode(rng)
    return rng.choice([f"{postcode} {number}", f"{postcode}, {number}",
                       f"{rng.choice(STREETS)} {number}, {postcode}"])


def _date(rng: random.Random) -> str:
    y, m, d = rng.randint(1940, 2008), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{y}-{m:02d}-{d:02d}", f"{d:02d}-{m:02d}-{y}", f"{d}/{m}/{y}",
                       f"{d:02d}.{m:02d}.{y}", f"{d} {MONTHS[m - 1]} {y}", f"geb. {d}-{m}-{y}"])


def _phone(rng: random.Random) -> str:
    mobile = "".join(rng.choices(string.digits, k=8))
    area = rng.choice(["20", "30", "10", "33", "73"])
    local = "".join(rng.choices(string.digits, k=7))
    return rng.choice([f"06-{mobile}", f"06 {mobile[:4]} {mobile[4:]}", f"+31 6 {mobile}",
                       f"+316{mobile}", f"0031 6 {mobile}", f"0{area}-{local}",
                       f"(0{area}) {local[:3]} {local[3:]}", f"+31 (0){area} {local}",
                       f"+32 2 {local[:3]} {local[3:5]} {local[5:]}"])


def _email(rng: random.Random) -> str:
    first, *rest = rng.choice(NAMES).lower().split()
    return rng.choice([f"{first}.{rest[-1]}@gmail.com", f"{first[0]}{rest[-1]}@hotmail.nl",
                       f"{first}@rn.example", f"{first}.{rest[-1]}+hub@svg.example"])


def _iban(rng: random.Random) -> str:
    country, bank, length = rng.choice([("NL", "ABNA", 10), ("NL", "INGB", 10),
                                        ("BE", "", 12), ("DE", "", 18)])
    account = bank + "".join(rng.choices(string.digits, k=length))
    check = 98 - int("".join(str(int(c, 36)) for c in account + country + "00")) % 97
    iban = f"{country}{check:02d}{account}"
    spaced = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
    return rng.choice([iban, spaced, spaced.lower()])


def positives(rng: random.Random, n: int, known: set[str]) -> list[tuple[str, str]]:
    """(kind, value) pairs, each value carrying one identity of `kind`."""
    def known_bsn() -> str:
        bsn = invalidated_bsn(random_bsn(rng))  # a mistyped BSN a source holds for a person
        known.add(bsn)
        return _bsn_forms(rng, bsn)

    makers = {"bsn": lambda: _bsn_forms(rng, random_bsn(rng)), "known_bsn": known_bsn,
              "postcode_house_number": lambda: _address(rng), "full_date": lambda: _date(rng),
              "phone": lambda: _phone(rng), "email": lambda: _email(rng),
              "iban": lambda: _iban(rng)}
    kinds = list(makers)
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        out.append((kind, rng.choice(SENTENCES).format(x=makers[kind](), name=rng.choice(NAMES))))
    return out


def negatives(rng: random.Random, n: int) -> list[str]:
    """Clean values that look like identities."""
    def nine_digits_failing() -> str:
        while True:
            number = "".join(rng.choices(string.digits, k=9))
            if not find_identities(number):
                return number

    makers = [
        lambda: f"team-{rng.choice(CITIES)}@{rng.choice(['rn', 'svg', 'ljr'])}.example",
        lambda: f"wijkteam@{rng.choice(CITIES)}.example",
        lambda: f"PI {rng.choice(['Vught', 'Arnhem', 'Zwolle'])}, afdeling {rng.randint(1, 9)}",
        lambda: f"PI-{rng.choice(['ARNHEM', 'VUGHT'])}-A{rng.randint(1, 9)}",
        lambda: f"AGB {rng.randint(0, 99_999_999):08d}",
        lambda: f"sinds {rng.choice(MONTHS)} {rng.randint(2000, 2026)}",
        lambda: f"{rng.randint(2000, 2026)}-{rng.randint(1, 12):02d}",
        lambda: f"week {rng.randint(1, 52)}, {rng.randint(2000, 2026)}",
        lambda: f"Q{rng.randint(1, 4)} {rng.randint(2000, 2026)}",
        lambda: f"RN-O-{rng.randint(0, 9_999_999):07d}",
        lambda: f"MA-GM{rng.randint(0, 9999):04d}-{rng.randint(1, 99):02d}",
        lambda: f"dossier {nine_digits_failing()}",
        lambda: f"{_postcode(rng)} {rng.choice(CITIES).capitalize()}",
        lambda: f"NL{rng.randint(0, 99):02d}ABNA{rng.randint(0, 9_999_999_999):010d}X",
        lambda: f"€ {rng.randint(1, 9)}.{rng.randint(100, 999)},{rng.randint(10, 99)}",
        lambda: f"open {rng.randint(8, 10):02d}:30-17:00, tel. via receptie",
    ]
    return [makers[i % len(makers)]() for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--vault-persons", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    known: set[str] = set()
    carrying = positives(rng, args.values // 2, known)
    clean = negatives(rng, args.values - len(carrying))
    frozen = frozenset(known)

    def scan(value: str) -> list[str]:
        return find_identities(value, mailbox_roles=ROLES, known_bsns=frozen)

    found, missed, false_alarms, carried = Counter(), Counter(), Counter(), Counter()
    for kind, value in carrying:
        carried[kind] += 1
        (found if kind in scan(value) else missed)[kind] += 1
    alarmed = 0
    for value in clean:
        rules = scan(value)
        alarmed += bool(rules)
        false_alarms.update(rules)
    values = [v for _, v in carrying] + clean
    times = []
    for _ in range(5):
        started = time.perf_counter()
        for value in values:
            scan(value)
        times.append(time.perf_counter() - started)
    print(f"{len(carrying)} values carrying an identity, {len(clean)} clean but tricky "
          f"(seed {args.seed})")
    print(f"{'rule':<24}{'carried':>8}{'found':>8}{'missed':>8}{'false alarms':>14}")
    for rule in RULES:
        print(f"{rule:<24}{carried[rule]:>8}{found[rule]:>8}{missed[rule]:>8}"
              f"{false_alarms[rule]:>14}")
    print(f"clean values with any alarm: {alarmed} of {len(clean)}")
    print(f"throughput: {len(values) / statistics.median(times):,.0f} values/s "
          f"(median of 5 passes over {len(values)} values)")
    _vault_look_up(rng, values, known, args.vault_persons)


def _vault_look_up(rng: random.Random, values: list[str], known: set[str], persons: int) -> None:
    numbers = {n for v in values for n in nine_digit_numbers(v)}
    with tempfile.TemporaryDirectory() as folder:
        keys = KeyStore(Path(folder) / "keys")
        internal = Pseudonymiser(keys.init(), INTERNAL_DOMAIN)
        vault = IdentityVault(Path(folder) / "vault.duckdb", keys)
        bsns = list(known) + [random_bsn(rng) for _ in range(persons - len(known))]
        vault.store(IdentityRecord(p, "bench", {"bsn": b})
                    for p, b in zip(internal.pseudonyms([f"bsn:{b}" for b in bsns]), bsns,
                                    strict=True))
        times, found = [], set()
        for _ in range(5):
            started = time.perf_counter()
            found = KnownBsns(internal, vault).among(numbers)
            times.append(time.perf_counter() - started)
    print(f"vault look-up: {len(numbers)} numbers against {persons:,} persons in "
          f"{statistics.median(times) * 1000:.1f} ms (median of 5): {len(found)} known, "
          f"{len(known & numbers)} of them planted (any other: a vault person's BSN the set "
          "drew again by chance)")


if __name__ == "__main__":
    main()
