"""The identity detectors: each finds its identity in the forms people type, stays quiet on
look-alikes, and the vault look-up is exact (a known person's BSN, eleven-test or not)."""

from __future__ import annotations

import pytest

from ketenbrug.connectors import manifest as manifests
from ketenbrug.connectors.manifest import all_datasets
from ketenbrug.privacy import INTERNAL_DOMAIN, IdentityRecord, Pseudonymiser
from ketenbrug.privacy.identity_detection import (
    FORMS,
    IDENTIFIER,
    KnownBsns,
    find_identities,
    is_valid_iban,
    nine_digit_numbers,
)
from ketenbrug.simulators import generate_world

ROLES = ("team", "wijkteam")


@pytest.mark.parametrize(("rule", "text"), [
    ("bsn", "123456782"),
    ("bsn", "bsn: 123456782, graag terugbellen"),
    ("bsn", "DJI-123456782"),
    ("bsn", "1234.56.782"),
    ("bsn", "123 456 782"),
    ("bsn", "123-456-782"),
    ("postcode_house_number", "1234 AB 12"),
    ("postcode_house_number", "1234AB, 12a"),
    ("postcode_house_number", "woont 3511 LX 4-bis"),
    ("postcode_house_number", "Dorpsstraat 4, 1234 AB Utrecht"),
    ("full_date", "geboren 1990-05-17"),
    ("full_date", "17-05-1990"),
    ("full_date", "17/5/1990"),
    ("full_date", "17.05.1990"),
    ("full_date", "geb. 17 mei 1990"),
    ("full_date", "3 Sept 1985"),
    ("phone", "bel 06-12345678"),
    ("phone", "06 1234 5678"),
    ("phone", "+31 6 1234 5678"),
    ("phone", "+31612345678"),
    ("phone", "0031 6 12345678"),
    ("phone", "+31 (0)20 123 4567"),
    ("phone", "020-1234567"),
    ("phone", "(020) 123 4567"),
    ("phone", "+32 2 123 45 67"),
    ("email", "jan.jansen@gmail.com"),
    ("email", "mail j.jansen+hub@rn.example"),
    ("email", "teamleider@rn.example"),  # a role only as a prefix of a word is not a role
    ("email", "team-123456782@rn.example"),  # no number hides in a functional mailbox
    ("bsn", "team-123456782@rn.example"),
    ("bsn", "wijkteam@123456782.example"),
    ("iban", "NL91ABNA0417164300"),
    ("iban", "NL91 ABNA 0417 1643 00"),
    ("iban", "nl91 abna 0417 1643 00 t.n.v."),
    ("iban", "DE89 3704 0044 0532 0130 00"),
    ("iban", "BE68539007547034"),
])
def test_each_detector_finds_its_identity(rule, text):
    assert rule in find_identities(text, mailbox_roles=ROLES)


@pytest.mark.parametrize("text", [
    "team-utrecht@rn.example", "team@svg.example", "wijkteam@s-hertogenbosch.example",
    "Team-Utrecht@RN.example",
    "PI-ARNHEM", "PI Vught, afdeling 3", "AGB 06290101", "RN-O-0000123", "DJI-0000042",
    "123456789",  # nine digits failing the eleven-test
    "1234567820", "x123456782y", "v1-3fa9c0d2e4b5a6978812aabbccddeeff",
    "000000000",
    "2024-02-30", "31-04-1990", "17-05-90", "mei 1990", "week 17, 2024",
    "1234 AB", "1234 AB Utrecht", "postcode 1234 ab 12",
    "0612345", "0800-1234", "12345678901", "Nazorg ex-gedetineerden Utrecht",
    "NL91ABNA0417164301",  # check digits wrong
    "GM0344", "2026-Q1", "",
    '"elapsed": 0.123456782', "0,123456782", "123456782.5",  # decimal fractions
    "v1-de89370400440532013000a7f3",  # a valid IBAN's characters inside a longer token
    "ref NL91 ABNA 0417 1643",  # an IBAN's start cut off by the end of the text
])
def test_look_alikes_are_not_identities(text):
    assert find_identities(text, mailbox_roles=ROLES) == []


def test_the_synthetic_worlds_free_text_values_raise_no_alarm():
    # Every free-text and identifier value the world serves, read as its manifest says:
    # the functional mailboxes, services, provider names and keys must all be clean.
    world = generate_world(clients=300, seed=5)
    served = {
        ("probation", "clients"): world.probation_clients,
        ("probation", "orders"): world.probation_orders,
        ("dji", "detentions"): world.detentions,
        ("wijkteam", "involvements"): world.involvements,
        ("care", "episodes"): world.care_episodes,
        ("municipal_orders", "agreements"): world.agreements,
        ("municipal_orders", "bookings"): world.bookings,
    }
    alarms, scanned = [], 0
    for dataset in all_datasets():
        for record in served[(dataset.source, dataset.name)]:
            for spec in dataset.scanned_fields:
                value = _at(record, spec.path)
                if value is not None:
                    scanned += 1
                    found = find_identities(str(value), spec.form or "",
                                            mailbox_roles=spec.mailbox_roles)
                    alarms += [(dataset.table, spec.name, rule) for rule in found]
    assert scanned > 1000
    assert alarms == []


def test_an_identifier_is_held_to_what_a_key_could_be():
    # A key is a code with digits and dashes: no date, phone or postcode rule on it.
    assert find_identities("2024-05-17-0612345678", IDENTIFIER) == []
    assert find_identities("DJI-123456782", IDENTIFIER) == ["bsn"]
    assert find_identities("jan@example.org", IDENTIFIER) == ["email"]
    with pytest.raises(ValueError, match="unknown field form"):
        find_identities("x", "prose")
    with pytest.raises(ValueError, match="unknown detector rule"):
        find_identities("x", only=["name"])


def test_nine_digit_tokens_lose_their_separators():
    assert nine_digit_numbers("a 1234.56.782 b 111-222-333 c 1234567890") == [
        "123456782", "111222333"]


@pytest.mark.parametrize(("iban", "valid"), [
    ("NL91ABNA0417164300", True), ("GB82WEST12345698765432", True),
    ("NL91ABNA041716430", False),  # one short of the Dutch length
    ("NL91ABNA0417164300X", False), ("XX00", False), ("NL91ABNA04171643٠٠", False),
    ("FC77CA12DBD0A19488203A17483E1802", False),  # passes mod-97; no country FC (a pseudonym)
])
def test_iban_check(iban, valid):
    assert is_valid_iban(iban) is valid


def test_the_vault_look_up_finds_a_known_bsn_even_failing_the_eleven_test(vault, keyring):
    internal = Pseudonymiser(keyring, INTERNAL_DOMAIN)
    known_bad, unknown_valid = "123456789", "111222333"  # a mistyped BSN a source sent
    vault.store([IdentityRecord(internal.pseudonym(f"bsn:{known_bad}"), "dji",
                                {"bsn": known_bad, "surname": "Jansen"})])
    known = KnownBsns(internal, vault).among(["123456789", unknown_valid, "999999990"])
    assert known == {known_bad}
    text = "cliënt 1234.56.789 belde"
    assert find_identities(text, known_bsns=known) == ["known_bsn"]
    assert find_identities(f"cliënt {unknown_valid}", known_bsns=known) == ["bsn"]
    # the batch's own BSNs count as known before they reach the vault
    assert KnownBsns(internal, vault).among(["555555555"], also={"555555555"}) == {"555555555"}


def test_without_a_vault_nothing_is_known():
    assert KnownBsns(None, None).among(["123456782"]) == set()


def test_manifest_forms_are_the_detectors_and_the_record_key_is_always_an_identifier():
    assert manifests.FORMS == FORMS
    for dataset in all_datasets():
        forms = {f.name: f.form for f in dataset.fields}
        assert forms[dataset.record_key] == IDENTIFIER, dataset.table
    clients = manifests.load_manifest("probation")["clients"]
    contact = next(f for f in clients.fields if f.name == "contact_point")
    assert (contact.form, contact.mailbox_roles) == ("free_text", ("team",))


@pytest.mark.parametrize(("opts", "message"), [
    ({"form": "prose"}, "has form 'prose'"),
    ({"mailbox_roles": ["team"]}, "is not form: free_text"),
])
def test_a_manifest_with_an_unknown_form_is_refused_naming_the_field(opts, message):
    with pytest.raises(ValueError, match=message) as refused:
        manifests._form("probation", "clients", "contact_point", opts, "client_id")
    assert "clients.contact_point" in str(refused.value)


def _at(record: dict, path: str) -> object:
    node: object = record
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit():
            node = node[int(part)] if int(part) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node
