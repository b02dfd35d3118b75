"""The hub works as an installed wheel, not only as an editable checkout: its data files
travel in the package and are found as resources, wherever the package lies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Built from a copy, as from a fresh clone: the build leaves nothing in the checkout.
    source = tmp_path_factory.mktemp("source") / "ketenbrug"
    shutil.copytree(CHECKOUT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "var", "build", "*.egg-info", "target", "logs", "__pycache__",
        ".*_cache"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(out), str(source)], check=True, capture_output=True)
    [built] = out.glob("ketenbrug-*.whl")
    return built


def test_the_wheel_carries_code_and_data_under_one_import_name(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    top_level = {n.split("/")[0] for n in names if not n.startswith("ketenbrug-")}
    assert top_level == {"ketenbrug"}
    for expected in ("ketenbrug/dagster.yaml", "ketenbrug/dbt_project/dbt_project.yml",
                     "ketenbrug/dbt_project/models/marts/handover/warm_handover.sql",
                     "ketenbrug/dbt_project/macros/published_rows.sql",
                     "ketenbrug/reference/municipalities.csv",
                     "ketenbrug/contracts/purposes.yaml",
                     "ketenbrug/contracts/dji/detentions.odcs.yaml",
                     "ketenbrug/connectors/care/manifest.yaml",
                     "ketenbrug/audit/openlineage/ketenbrug_purpose_facet.json",
                     "ketenbrug/pipelines/definitions.py", "ketenbrug/warehouse/schema.py"):
        assert expected in names
    assert not [n for n in names if "/target/" in n or "/logs/" in n or "__pycache__" in n]


def test_an_installed_hub_finds_its_files_in_the_package(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
                    "--target", str(site), str(wheel)], check=True, capture_output=True)
    probe = (
        "import ketenbrug, ketenbrug.project_files as f\n"
        "from ketenbrug.connectors import all_datasets\n"
        "from ketenbrug.contracts.odcs import load_contract\n"
        "from ketenbrug.contracts.registers import load_purposes, load_lineages\n"
        "from ketenbrug.simulators.reference import municipalities\n"
        "print(ketenbrug.__file__)\n"
        "print(f.DBT_PROJECT_DIR)\n"
        "print(len(all_datasets()), len(load_purposes()), len(load_lineages().lineages))\n"
        "print(len([load_contract(d.source, d.name) for d in all_datasets()]))\n"
        "print(len(municipalities()))\n"
        "print(f.ensure_dbt_manifest())\n"
    )
    # The wheel's copy first on the path; started outside the checkout.
    env = {**os.environ, "PYTHONPATH": str(site), "KETENBRUG_WAREHOUSE":
           str(tmp_path / "parse.duckdb"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    package, dbt_dir, counts, contracts, municipalities, manifest = done.stdout.splitlines()
    assert Path(package).is_relative_to(site) and Path(dbt_dir).is_relative_to(site)
    assert counts == "7 5 2"
    assert contracts == "7" and municipalities == "342"
    assert Path(manifest).is_relative_to(site) and Path(manifest).exists()
