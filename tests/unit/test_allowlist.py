from collections import Counter

from ketenbrug.connectors import load_manifest
from ketenbrug.connectors.allowlist import apply_allowlist

EPISODE = {
    "resourceType": "EpisodeOfCare", "id": "eoc-1", "meta": {"lastUpdated": "2026-11-01T00:00:00Z"},
    "status": "active",
    "type": [{"coding": [{"system": "https://ketenbrug.example/fhir/CodeSystem/care-category",
                          "code": "addiction"}]}],
    "diagnosis": [{"condition": {"reference": "Condition/c-1"}}],
    "patient": {"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/bsn",
                               "value": "111222333"}, "display": "Anna Jansen"},
    "managingOrganization": {"identifier": {"value": "12345678"}, "display": "Zorg BV"},
    "period": {"start": "2026-01-01"},
    "text": {"status": "generated", "div": "<div>free text about the patient</div>"},
}


def test_fhir_episode_keeps_category_and_status_and_drops_diagnosis_and_narrative():
    dropped = Counter()
    allowed = apply_allowlist(EPISODE, load_manifest("care")["episodes"], dropped)
    assert allowed.identity == {"bsn": "111222333"}
    assert allowed.fields["category"] == "addiction"
    assert allowed.fields["status"] == "active"
    assert allowed.fields["period_end"] is None
    assert dropped["diagnosis[].condition.reference"] == 1
    assert dropped["text.div"] == 1
    assert dropped["patient.display"] == 1  # a name: identity the purpose does not need
    everything_kept = str(allowed.fields)
    assert "Condition/c-1" not in everything_kept and "free text" not in everything_kept


def test_dropped_fields_are_counted_by_name_never_by_value():
    dropped = Counter()
    manifest = load_manifest("probation")["orders"]
    for i in range(3):
        apply_allowlist({"order_id": f"RN-O-{i}", "client_id": "RN-1", "organisation": "RN",
                         "offence_description": "synthetic offence text"}, manifest, dropped)
    assert dropped == Counter({"offence_description": 3})


def test_lists_land_as_json_text():
    allowed = apply_allowlist({"order_id": "RN-O-1", "conditions": ["meldplicht", "drugsverbod"]},
                              load_manifest("probation")["orders"], Counter())
    assert allowed.fields["conditions"] == '["meldplicht", "drugsverbod"]'


def test_a_field_the_source_stopped_sending_is_reported_missing_not_landed_as_null():
    manifest = load_manifest("probation")["orders"]
    record = {"order_id": "RN-O-1", "client_id": "RN-1", "organisation": "RN",
              "order_type": "toezicht", "status": "active", "start_date": "2026-01-01",
              "einddatum": "2026-06-01", "hours_ordered": None, "hours_served": None,
              "conditions": [], "updated_at": "2026-01-01T00:00:00Z"}
    dropped = Counter()
    allowed = apply_allowlist(record, manifest, dropped)
    assert allowed.missing == ("end_date",) and allowed.missing_text == "end_date"
    assert dropped == Counter({"einddatum": 1})  # the new name is refused, by name


def test_fhir_may_leave_out_an_optional_element():
    allowed = apply_allowlist(EPISODE, load_manifest("care")["episodes"], Counter())
    assert allowed.missing == ()  # period.end is optional: running episodes have none
