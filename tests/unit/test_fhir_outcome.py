"""What the care connector says about a FHIR OperationOutcome: the codes, never the texts a
server may have filled with what it was sent (a name, a BSN)."""

from __future__ import annotations

from ketenbrug.connectors.care.fhir import OUTCOME_CODES, outcome_summary


def _outcome(**issue):
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid", **issue}]}


def test_an_outcome_is_summed_up_by_its_codes_and_paths():
    outcome = _outcome(details={"coding": [{"system": OUTCOME_CODES, "code": "MSG_PARAM_INVALID"}],
                                "text": "Sanne Verbruggen has no such episode"},
                       diagnostics="for BSN 425370495", expression=["EpisodeOfCare.patient"])
    assert outcome_summary(outcome) == ("error invalid (MSG_PARAM_INVALID) at "
                                        "EpisodeOfCare.patient")


def test_values_that_are_not_codes_or_paths_are_left_out():
    outcome = _outcome(severity="Jansen", code="Piet Jansen", expression=["Sanne Verbruggen"],
                       details={"coding": [{"system": "urn:other", "code": "JANSEN"},
                                           {"system": OUTCOME_CODES, "code": "Jansen Piet"}]})
    summary = outcome_summary(outcome)
    assert summary == "(unknown code) (unknown code)"
    assert "Jansen" not in summary and "Verbruggen" not in summary


def test_an_outcome_the_models_refuse_is_named_as_such():
    assert outcome_summary({"resourceType": "OperationOutcome", "issue": "Jansen"}) == \
        "one the R4 models refuse"
