"""Which old -> new person_refs a municipality's package carries after key rotations."""

import csv
import io

import pytest

from ketenbrug.delivery.person_ref_changes import FormerRefs
from ketenbrug.privacy import (
    INTERNAL_DOMAIN,
    IdentityRecord,
    IdentityVault,
    KeyStore,
    Pseudonymiser,
    rotate_keys,
)
from ketenbrug.privacy.domains import rekey
from ketenbrug.privacy.subject_refs import subject_refs

PURPOSE, CODE, OTHER = "warm_handover", "GM0363", "GM0599"
RECIPIENT = f"municipality:{CODE}"
BASES = {name: f"bsn:{n}" for name, n in
         (("anna", "111222333"), ("bram", "123456782"), ("chris", "100000009"))}


@pytest.fixture
def hub(tmp_path):
    """Three people in a vault rotated twice (v1 -> v2 -> v3), each one's internal
    pseudonym under each version, and the vault's own pseudonym lineage."""
    keys, vault_path = KeyStore(tmp_path / "keys"), tmp_path / "vault.duckdb"
    internal_v1 = Pseudonymiser(keys.init(), INTERNAL_DOMAIN)
    first = {name: internal_v1.pseudonym(basis) for name, basis in BASES.items()}
    IdentityVault(vault_path, keys).store(
        [IdentityRecord(first[name], "dji", {"bsn": basis.removeprefix("bsn:")})
         for name, basis in BASES.items()])
    for _ in range(2):
        rotate_keys(keys, vault_path, tmp_path / "warehouse.duckdb")
    lineage = IdentityVault(vault_path, keys).lineage()
    newer = {old: new for old, new, _, _ in lineage}
    internal = {name: [p, newer[p], newer[newer[p]]] for name, p in first.items()}
    return keys, [keys.load(v) for v in (1, 2, 3)], internal, lineage


def _delivery(keys, recipient, persons):
    return {"event": "delivery", "purpose": PURPOSE, "recipient": recipient,
            "subject_refs": subject_refs(keys, persons)}


def _ref(ring, internal):
    """The person_ref a package under `ring` carried (the handover's own re-keying)."""
    ((_, _, ref),) = rekey(ring, [(internal, CODE)])
    return ref


def _changes(keys, rings, internal, lineage, log, names):
    refs = {internal[n][2]: _ref(rings[2], internal[n][2]) for n in names}
    return FormerRefs(keys, log, PURPOSE, lambda: lineage).changes(RECIPIENT, CODE, refs, 3)


def test_a_municipality_that_skipped_a_rotation_gets_its_v1_refs_mapped_to_v3(hub):
    keys, rings, internal, lineage = hub
    log = [_delivery(keys, RECIPIENT, [internal["anna"][0], internal["bram"][0]])]
    changes = _changes(keys, rings, internal, lineage, log, ["anna", "bram", "chris"])
    assert changes is not None
    assert sorted(changes.pairs) == sorted(
        (_ref(rings[0], internal[n][0]), _ref(rings[2], internal[n][2]))
        for n in ("anna", "bram"))  # chris was never sent: no former ref to carry
    assert changes.manifest_entry() == {"file": "person_ref_changes.csv", "rows": 2,
                                        "from_key_versions": [1], "to_key_version": 3}
    read = list(csv.reader(io.StringIO(changes.csv().decode())))
    assert read[0] == ["former_person_ref", "person_ref"] and len(read) == 3


def test_the_former_ref_is_the_newest_one_the_municipality_was_sent(hub):
    keys, rings, internal, lineage = hub
    log = [_delivery(keys, RECIPIENT, [internal["anna"][0], internal["bram"][0]]),
           _delivery(keys, RECIPIENT, [internal["anna"][1]])]  # bram not in the v2 package
    changes = _changes(keys, rings, internal, lineage, log, ["anna", "bram"])
    assert changes is not None
    assert dict((new, old) for old, new in changes.pairs) == {
        _ref(rings[2], internal["anna"][2]): _ref(rings[1], internal["anna"][1]),
        _ref(rings[2], internal["bram"][2]): _ref(rings[0], internal["bram"][0])}
    assert changes.manifest_entry()["from_key_versions"] == [1, 2]


def test_no_map_once_every_person_was_sent_under_the_current_key(hub):
    keys, rings, internal, lineage = hub
    log = [_delivery(keys, RECIPIENT, [internal["anna"][0]]),
           _delivery(keys, RECIPIENT, [internal["anna"][2]])]
    assert _changes(keys, rings, internal, lineage, log, ["anna"]) is None


def test_what_another_municipality_or_purpose_was_sent_is_not_mapped(hub):
    keys, rings, internal, lineage = hub
    log = [_delivery(keys, f"municipality:{OTHER}", [internal["anna"][0]]),
           {**_delivery(keys, RECIPIENT, [internal["anna"][0]]), "purpose": "steering"},
           {**_delivery(keys, RECIPIENT, [internal["anna"][0]]), "event": "reidentification"}]
    assert _changes(keys, rings, internal, lineage, log, ["anna"]) is None
