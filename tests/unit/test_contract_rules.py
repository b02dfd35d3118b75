"""The rules of a contract are data (contracts/rules.py): a batch with no new rows is
judged without importing Great Expectations, and the CLI starts without it."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

from ketenbrug import warehouse
from ketenbrug.connectors import all_datasets, load_manifest
from ketenbrug.contracts.gx_suite import compile_suite
from ketenbrug.contracts.odcs import load_contract
from ketenbrug.contracts.rules import contract_rules


def test_every_rule_of_every_contract_compiles_to_the_expectation_it_names():
    for manifest in all_datasets():
        contract = load_contract(manifest.source, manifest.name)
        rules = contract_rules(contract)
        compiled = compile_suite(contract)
        assert [r.name for r in rules] == [name for name, _ in compiled]
        assert [type(e).__name__ for _, e in compiled] == [r.expectation for r in rules]


def test_a_batch_of_only_unchanged_records_is_judged_without_great_expectations(tmp_path):
    clients = load_manifest("probation")["clients"]
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        warehouse.land_batch(con, clients, [], batch_id="b-empty",
                             received_at=datetime(2026, 12, 1), fields_dropped=0, cursor=None)
    script = (
        "import sys\n"
        "from ketenbrug import warehouse\n"
        "from ketenbrug.connectors import load_manifest\n"
        "from ketenbrug.contracts.odcs import load_contract\n"
        "m = load_manifest('probation')['clients']\n"
        f"r = warehouse.validate_landed_batch({str(tmp_path / 'w.duckdb')!r}, "
        "load_contract('probation', 'clients'), m, 'b-empty')\n"
        "print(r.passed, r.rows, r.rules, 'great_expectations' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    rules = len(contract_rules(load_contract("probation", "clients")))
    assert out == ["True", "0", str(rules), "False"]


def test_the_cli_starts_without_importing_great_expectations():
    script = ("import sys\nimport ketenbrug.cli\n"
              "print('great_expectations' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
