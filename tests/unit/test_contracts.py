import copy
import json

import pandas as pd
import pytest

from ketenbrug.connectors import all_datasets
from ketenbrug.contracts import odcs
from ketenbrug.contracts.gx_suite import validate_batch
from ketenbrug.contracts.odcs import ContractError, load_contract, validate_document
from ketenbrug.contracts.registers import load_purposes
from ketenbrug.warehouse import landing_columns

DATASETS = all_datasets()
IDS = [m.table for m in DATASETS]


@pytest.mark.parametrize("manifest", DATASETS, ids=IDS)
def test_every_landed_dataset_has_a_valid_odcs_contract(manifest):
    contract = load_contract(manifest.source, manifest.name)
    assert contract.document["apiVersion"].startswith("v3")


@pytest.mark.parametrize("manifest", DATASETS, ids=IDS)
def test_manifest_and_contract_agree(manifest):
    contract = load_contract(manifest.source, manifest.name)
    assert [p["name"] for p in contract.properties if not p["name"].startswith("_")] == [
        c for c in landing_columns(manifest) if not c.startswith("_")]
    assert contract.custom("legalBasis") == manifest.legal_basis
    assert contract.custom("purposes") == list(manifest.purposes)
    assert contract.custom("retention") == manifest.retention
    by_name = {p["name"]: p for p in contract.properties}
    for field in manifest.fields:
        assert by_name[field.name]["classification"] == field.classification


@pytest.mark.parametrize("manifest", DATASETS, ids=IDS)
def test_every_purpose_named_is_in_the_register(manifest):
    register = load_purposes()
    assert set(manifest.purposes) <= set(register)
    for field in manifest.fields:
        assert set(field.purposes) <= set(manifest.purposes), field.name


def test_invalid_contract_is_refused_with_its_path():
    document = copy.deepcopy(load_contract("dji", "detentions").document)
    document["schema"][0]["properties"][0]["logicalType"] = "text"
    with pytest.raises(ContractError, match="schema/0/properties/0"):
        validate_document(document, "dji/detentions.odcs.yaml")


@pytest.fixture
def validated_file(tmp_path, monkeypatch):
    """Where the digests of documents found valid are kept: a file of this test's own."""
    path = tmp_path / "contracts" / ".validated.json"
    path.parent.mkdir()
    monkeypatch.setattr(odcs, "VALIDATED", path)
    return path


def test_a_document_found_valid_and_then_changed_is_validated_again(validated_file):
    document = copy.deepcopy(load_contract("dji", "detentions").document)
    validate_document(document, "dji/detentions.odcs.yaml")  # valid: its digest kept
    assert len(json.loads(validated_file.read_text())) == 1
    document["schema"][0]["properties"][0]["logicalType"] = "text"
    with pytest.raises(ContractError, match="schema/0/properties/0"):
        validate_document(document, "dji/detentions.odcs.yaml")
    assert len(json.loads(validated_file.read_text())) == 1  # an invalid one is never kept


def test_a_damaged_or_unwritable_record_of_valid_documents_only_means_validating(
        validated_file, monkeypatch):
    document = copy.deepcopy(load_contract("dji", "detentions").document)
    validated_file.write_text('["not json')
    validate_document(document, "dji/detentions.odcs.yaml")
    assert len(json.loads(validated_file.read_text())) == 1  # rewritten whole

    # Nowhere to write (as an installation read-only to its user; root may write anyway,
    # so here the folder is a file): validated each time, and never wrongly.
    unwritable = validated_file.parent / "not-a-folder"
    unwritable.write_text("")
    monkeypatch.setattr(odcs, "VALIDATED", unwritable / ".validated.json")
    validate_document(document, "dji/detentions.odcs.yaml")
    document["schema"][0]["properties"][0]["logicalType"] = "text"
    with pytest.raises(ContractError):
        validate_document(document, "dji/detentions.odcs.yaml")


def _good_bookings():
    return pd.DataFrame({
        "_record_key": ["MB-1", "MB-2"], "_batch_id": ["b1", "b1"], "_payload_hash": ["h1", "h2"],
        "_missing_fields": [None, None], "identity_findings": [None, None],
        "booking_id": ["MB-1", "MB-2"], "agreement_id": ["MA-GM0363-01"] * 2,
        "organisation": ["RN", "SVG"], "booking_date": ["2026-03-01", "2026-03-02"],
        "hours": ["2.25", "1"], "activity": ["outreach", "training"],
        "updated_at": ["2026-03-02T10:00:00Z"] * 2,
    })


def test_good_batch_passes_its_contract():
    result = validate_batch(load_contract("municipal_orders", "bookings"), _good_bookings())
    assert result.passed and result.rows == 2


def test_bad_batch_fails_naming_rule_and_record_key_never_the_value():
    frame = _good_bookings()
    frame.loc[1, "booking_date"] = "2026-02-30"
    frame.loc[1, "organisation"] = "=cmd|' /C calc'!A0"
    result = validate_batch(load_contract("municipal_orders", "bookings"), frame)
    failures = {f.rule: f for f in result.failures}
    assert set(failures) == {"booking_date.type_date", "organisation_in_allowed_set"}
    assert failures["booking_date.type_date"].record_keys == ("MB-2",)
    assert "calc" not in failures["organisation_in_allowed_set"].describe()


def test_invalid_bsn_flag_fails_the_eleven_test_rule():
    contract = load_contract("care", "episodes")
    row = {p["name"]: "x" for p in contract.properties}
    row.update({"_record_key": "eoc-1", "_missing_fields": None, "identity_issues": None,
                "identity_findings": None,
                "person_pseudonym": "p1", "pseudonym_basis": "bsn",
                "is_bsn_present": True,
                "is_bsn_valid": False, "status": "active", "category": "addiction",
                "period_start": "2026-01-01", "period_end": None, "managing_org_agb": "12345678",
                "managing_org_name": "Zorg BV", "updated_at": "2026-01-01T00:00:00Z"})
    result = validate_batch(contract, pd.DataFrame([row]))
    assert [f.rule for f in result.failures] == ["bsn_passes_eleven_test"]


@pytest.mark.parametrize("column, value, rule", [
    ("booking_date", "2099-01-01", "booking_date.not_in_future"),
    ("updated_at", "2099-01-01T00:00:00Z", "updated_at.not_in_future"),
    ("_missing_fields", "hours", "schema_drift.no_missing_fields"),
])
def test_future_dates_and_schema_drift_fail_naming_the_record(column, value, rule):
    frame = _good_bookings()
    frame.loc[0, column] = value
    result = validate_batch(load_contract("municipal_orders", "bookings"), frame)
    assert [(f.rule, f.record_keys) for f in result.failures] == [(rule, ("MB-1",))]


@pytest.mark.parametrize("value, rule", [
    ("=HYPERLINK(\"http://x\")", "description.safe_text"),
    ("x" * 501, "description.max_length"),
])
def test_free_text_is_bounded_and_never_a_formula(value, rule):
    contract = load_contract("municipal_orders", "agreements")
    row = {"_record_key": "MA-1", "_batch_id": "b", "_payload_hash": "h", "_missing_fields": None,
           "identity_findings": None,
           "agreement_id": "MA-1", "municipality_code": "GM0363", "organisation": "RN",
           "description": value, "tariff_cents_per_hour": "9000", "cap_hours": "100",
           "start_date": "2026-01-01", "end_date": "2026-12-31",
           "updated_at": "2026-01-01T00:00:00Z"}
    result = validate_batch(contract, pd.DataFrame([row]))
    assert [f.rule for f in result.failures] == [rule]
