"""Fuzzing what a record meets after the connector: the allowlist (every manifest), then
the boundary with a real key ring and vault, then landing into a real DuckDB.

Properties: nothing crashes on nesting, huge strings, odd Unicode (surrogates, NUL, RTL
marks), wrong types, missing keys or lists where objects belong; a value the manifest does
not permit never passes the allowlist and its path is counted; every record is accounted
for (landed + rejected == received, in the table and the ledger); no identity value
(BSN, name, birth date) reaches a landed row, and the vault holds each linked person."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from datetime import date, datetime
from typing import Any

import duckdb
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ketenbrug.connectors import all_datasets, load_manifest
from ketenbrug.connectors.allowlist import apply_allowlist
from ketenbrug.privacy import IdentityVault, KeyStore, load_or_create_keyring
from ketenbrug.privacy.boundary import Boundary, IncomingRecord
from ketenbrug.warehouse.landing import land_batch
from ketenbrug.warehouse.schema import REJECTIONS, landing_table

MANIFESTS = {m.table: m for m in all_datasets()}
DJI = load_manifest("dji")["detentions"]
MARK = "\u2063"  # an invisible separator: in every generated name, in nothing else

odd_chars = st.characters(codec=None, categories=None)  # surrogates, NUL, controls included
odd_text = st.one_of(
    st.text(odd_chars, max_size=12),
    st.text(st.sampled_from("\x00\u200f\u202e\ufeff\u0301ëÇ\U0001f600'\";-="), max_size=12),
    st.integers(60_000, 70_000).map(lambda n: "y" * n),
)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | odd_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
    max_leaves=10)


def _set(record: dict, path: str, value: object) -> None:
    """Put `value` at a dotted path, making objects on the way (numeric parts as keys)."""
    *parents, last = path.split(".")
    node = record
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value


@st.composite
def manifest_records(draw: Any, manifest) -> dict:
    """A record with some permitted paths set to anything (a list where an object is
    expected, an object where text is), plus keys of its own."""
    record = draw(st.dictionaries(odd_text, values, max_size=3))
    paths = sorted(manifest.permitted_paths)
    for path in draw(st.lists(st.sampled_from(paths), max_size=len(paths), unique=True)):
        _set(record, path, draw(values))
    return record


@st.composite
def planted(draw: Any) -> tuple[Any, dict, str, str]:
    """A manifest, a record of it, and a sentinel under a path the manifest refuses."""
    manifest = MANIFESTS[draw(st.sampled_from(sorted(MANIFESTS)))]
    record = draw(manifest_records(manifest))
    permitted = manifest.permitted_paths
    parents = sorted({p.rsplit(".", 1)[0] for p in permitted if "." in p} | {""})
    parent = draw(st.sampled_from(parents))
    path = f"{parent}.zz_refused" if parent else "zz_refused"
    sentinel = f"SENTINEL{draw(st.integers(0, 10**6))}"
    _set(record, path, draw(st.sampled_from([sentinel, [sentinel], {"deep": [sentinel]}])))
    return manifest, record, path, sentinel


@settings(max_examples=200)
@given(planted())
def test_the_allowlist_never_passes_a_refused_value_and_counts_it(generated):
    manifest, record, path, sentinel = generated
    dropped: Counter = Counter()
    allowed = apply_allowlist(record, manifest, dropped)
    assert set(allowed.fields) == set(manifest.field_names)
    assert set(allowed.identity) == set(manifest.identity)
    texts = [*allowed.fields.values(), *allowed.identity.values()]
    assert all(v is None or isinstance(v, str) for v in texts)
    assert sentinel not in json.dumps(texts)
    counted = re.sub(r"\.\d+", "[]", path)  # dropped paths are counted with list indexes as []
    assert any(name == counted or name.startswith(counted + ".") for name in dropped)


@settings(max_examples=200)
@given(st.sampled_from(sorted(MANIFESTS)).flatmap(
    lambda t: st.tuples(st.just(t), st.one_of(manifest_records(MANIFESTS[t]), values))))
def test_the_allowlist_takes_any_record_without_crashing(generated):
    table, record = generated
    manifest = MANIFESTS[table]
    allowed = apply_allowlist(record, manifest, Counter())
    # absent is not null: a required field the record lacks is named as missing
    for name in allowed.missing:
        assert allowed.fields[name] is None


# --- boundary and landing -------------------------------------------------------------

names = st.text(st.characters(codec="utf-8", exclude_characters=MARK), min_size=1,
                max_size=12).map(lambda t: f"{MARK}{t}{MARK}")
bsns = st.from_regex(r"\A[0-9]{9}\Z") | st.from_regex(r"\A[0-9]{8}\Z")
birth_dates = st.dates(date(1900, 1, 1), date(2010, 12, 31)).map(date.isoformat)
# Field values: any text UTF-8 can carry (the connector refuses lone surrogates), NUL and
# RTL marks included, never the mark: so a name found in a landed row came from the vault's
# side of the boundary, not from a field.
field_text = st.text(st.characters(codec="utf-8", exclude_characters=MARK), max_size=20)
field_values = st.none() | field_text | st.integers() | st.lists(field_text, max_size=2)


@st.composite
def detentions(draw: Any) -> dict:
    record: dict = {}
    for name, strategy in [("bsn", bsns), ("given_name", names), ("surname", names),
                           ("birth_date", birth_dates)]:
        if draw(st.integers(0, 4)):  # now and then an identity field is missing
            record[name] = draw(strategy)
    for spec in DJI.fields:
        if draw(st.integers(0, 6)):
            _set(record, spec.path, draw(field_values))
    if draw(st.booleans()):
        record["registration_number"] = draw(st.sampled_from(["R1", "R2", "R3"]) | field_text)
    return record


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    home = tmp_path_factory.mktemp("fuzz-hub")
    keyring = load_or_create_keyring(home / "keys")
    vault = IdentityVault(home / "vault.duckdb", KeyStore(home / "keys"))
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    yield keyring, vault, con
    con.close()


_batches = itertools.count()


@settings(max_examples=100)
@given(st.lists(detentions(), max_size=6))
def test_boundary_and_landing_account_for_every_record_and_land_no_identity(hub, records):
    keyring, vault, con = hub
    allowed = [(apply_allowlist(r, DJI, Counter()), r) for r in records]
    # as the landing asset builds it (the manifest says which fields to scan)
    split = Boundary(keyring, vault, "dji", dataset=DJI).split(
        [IncomingRecord(a.identity, {**a.fields, "_missing_fields": a.missing_text}, raw)
         for a, raw in allowed], has_identity=True)
    batch_id = f"fuzz-{next(_batches)}"
    landed = land_batch(con, DJI, split.rows, batch_id=batch_id,
                        received_at=datetime(2026, 11, 29, 12), fields_dropped=0, cursor=None)

    in_table = con.execute(f"select * from {landing_table(DJI)} where _batch_id = ?",
                           [batch_id]).fetchall()
    (rejected,) = con.execute(f"select count(*) from {REJECTIONS} where batch_id = ?",
                              [batch_id]).fetchone()
    # unchanged: a version an earlier example already landed in this hub
    assert len(in_table) + landed.unchanged + rejected == len(records) == landed.received
    assert (landed.landed, landed.rejected) == (len(in_table), rejected)
    event(f"landed {min(len(in_table), 3)}+ of {min(len(records), 3)}+")

    landed_text = "\x1f".join(str(cell) for row in in_table for cell in row if cell is not None)
    field_texts = "\x1f".join(v for a, _ in allowed for v in a.fields.values() if v)
    for a, _ in allowed:
        for value in a.identity.values():
            if value and value not in field_texts:  # a field may carry the same digits
                assert value not in landed_text

    linked = [row["person_pseudonym"] for row in split.rows if row.get("person_pseudonym")]
    stored = vault.fetch(linked, ["bsn", "surname"]) if linked else {}
    for (a, _), row in zip(allowed, split.rows, strict=True):
        if row.get("person_pseudonym") and a.identity.get("bsn"):
            assert stored[row["person_pseudonym"]].get("bsn")  # the identity went to the vault
