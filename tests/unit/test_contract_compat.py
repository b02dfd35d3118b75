import copy

import pytest

from ketenbrug.contracts.compat import breaking, compare
from ketenbrug.contracts.odcs import load_contract

BASE = load_contract("probation", "orders").document


def _edit(change):
    document = copy.deepcopy(BASE)
    props = {p["name"]: p for p in document["schema"][0]["properties"]}
    change(document, props)
    return document


def _drop(props, name, doc):
    doc["schema"][0]["properties"].remove(props[name])


@pytest.mark.parametrize("edit, field, kind", [
    (lambda d, p: _drop(p, "hours_served", d), "hours_served", "removed"),
    (lambda d, p: p["hours_ordered"].update(logicalType="string"), "hours_ordered", "retyped"),
    (lambda d, p: p["end_date"].update(required=True), "end_date", "required added"),
    (lambda d, p: p["order_type"]["quality"][0]["arguments"].update(
        validValues=["advies", "toezicht"]), "order_type", "allowed values changed"),
    (lambda d, p: p["conditions"]["customProperties"][0].update(value=["steering"]),
     "conditions", "purposes changed"),
    (lambda d, p: d["customProperties"][1].update(value=["justice_profile"]),
     "(contract)", "purposes changed"),
])
def test_breaking_changes_are_named(edit, field, kind):
    (change,) = breaking(BASE, _edit(edit))
    assert (change.field, change.kind) == (field, kind)


@pytest.mark.parametrize("edit", [
    lambda d, p: d["schema"][0]["properties"].append(
        {"name": "team", "logicalType": "string", "physicalType": "varchar"}),
    lambda d, p: p["client_id"].update(required=False),
    lambda d, p: p["order_type"]["quality"][0]["arguments"]["validValues"].append("ito"),
])
def test_compatible_changes_are_listed_but_not_breaking(edit):
    changes = compare(BASE, _edit(edit))
    assert len(changes) == 1 and not changes[0].breaking


def test_identical_contracts_have_no_changes():
    assert compare(BASE, copy.deepcopy(BASE)) == []


def test_cli_exits_non_zero_on_a_breaking_change(tmp_path):
    import yaml
    from click.testing import CliRunner

    from ketenbrug.cli import main
    from ketenbrug.contracts.odcs import CONTRACTS_DIR

    old = CONTRACTS_DIR / "probation" / "orders.odcs.yaml"
    new = tmp_path / "orders.odcs.yaml"
    new.write_text(yaml.safe_dump(_edit(lambda d, p: _drop(p, "hours_served", d))))
    result = CliRunner().invoke(main, ["contracts", "diff", str(new), "--against", str(old)])
    assert result.exit_code == 1
    assert "BREAKING   hours_served: removed" in result.output
    same = CliRunner().invoke(main, ["contracts", "diff", str(old), "--against", str(old)])
    assert same.exit_code == 0 and "0 change(s), 0 breaking" in same.output
