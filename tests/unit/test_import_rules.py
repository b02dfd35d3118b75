"""The rooms and the arrows between them (ARCHITECTURE.md, "Rooms"): a broken rule fails here.

Arrows point down only. People-facing rooms (the CLI) may import everything; `pipelines`
(Dagster) may import the services; the services import only the rooms below them; and
only the CLI and the tests reach the simulators. Dagster is imported at module level by
`pipelines` alone, so every service imports without it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ketenbrug"
BASE = {"config", "databases", "project_files", "failpoints", "run_lock", "run_lock_postgres",
        "yaml_files"}
BELOW_SERVICES = {"connectors", "contracts", "privacy", "warehouse", *BASE}
SERVICES = {"stewardship", "delivery", "audit"}
# room -> the rooms of ours it may import
ALLOWED = {
    # where the disclosure log is on the postgres profile (a table), and nothing else
    "config": {"databases", "connectors", "privacy.log_tables", "yaml_files"},
    "databases": set(),
    "project_files": set(),
    "yaml_files": set(),
    "failpoints": set(),
    "run_lock": set(),
    "run_lock_postgres": {"run_lock", "databases"},  # the same lock, in the warehouse
    "connectors": {"yaml_files"},
    "contracts": {"yaml_files"},
    # the one eleven-test the world and the hub share, and nothing else of the hub
    "simulators": {"privacy.bsn"},
    "privacy": {"contracts", "failpoints", "databases"},
    "warehouse": {"connectors", "contracts", "privacy", "failpoints", "databases"},
    "stewardship": BELOW_SERVICES,
    "delivery": BELOW_SERVICES,
    "audit": BELOW_SERVICES,
    "pipelines": BELOW_SERVICES | SERVICES,
    # people-facing like the CLI, but never Dagster's room nor the simulated world
    "portal": BELOW_SERVICES | SERVICES,
    "cli": BELOW_SERVICES | SERVICES | {"pipelines", "simulators", "portal"},
}
DAGSTER = ("dagster", "dagster_dbt")


def _modules() -> list[tuple[str, Path]]:
    """(room, file) for every module of the package, the linked rooms included."""
    found = []
    for folder, _, files in os.walk(PACKAGE, followlinks=True):
        for name in files:
            if name.endswith(".py"):
                path = Path(folder, name)
                room = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
                if room != "__init__":
                    found.append((room, path))
    return found


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, whether at module level) for every import in `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] \
                if node.module == "ketenbrug" else [node.module]
            found += [(name, id(node) in top) for name in names]
    return found


def _room_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "ketenbrug" and len(parts) > 1 else None


def _upward(room: str, path: Path) -> list[str]:
    """The imports in `path` of rooms that `room` may not import."""
    return [module for module, _ in _imports(path)
            if (target := _room_of(module)) and target != room
            and target not in ALLOWED[room]
            and module.removeprefix("ketenbrug.") not in ALLOWED[room]]


MODULES = _modules()


def test_every_room_is_known():
    assert {room for room, _ in MODULES} == set(ALLOWED)


@pytest.mark.parametrize(("room", "path"), MODULES,
                         ids=[str(p.relative_to(PACKAGE)) for _, p in MODULES])
def test_imports_point_down(room, path):
    assert _upward(room, path) == [], f"{room} may import only {sorted(ALLOWED[room])}"


@pytest.mark.parametrize(("room", "path"), [(r, p) for r, p in MODULES if r != "pipelines"],
                         ids=[str(p.relative_to(PACKAGE)) for r, p in MODULES
                              if r != "pipelines"])
def test_only_pipelines_imports_dagster_at_module_level(room, path):
    eager = [module for module, at_top in _imports(path)
             if at_top and module.split(".")[0] in DAGSTER]
    assert eager == []


def test_services_import_without_dagster():
    rooms = sorted(ALLOWED.keys() - {"pipelines", "cli"})
    code = ("import sys\n" + "".join(f"import ketenbrug.{r}\n" for r in rooms)
            + "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
              f"{DAGSTER!r})\nprint(','.join(loaded))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == ""


def test_a_broken_rule_is_caught(tmp_path):
    # The guard itself: upward imports in a service are reported, lazy ones included.
    module = tmp_path / "bad.py"
    module.write_text("from ketenbrug import stewardship\n"
                      "def f():\n    from ketenbrug.pipelines.definitions import defs\n")
    assert _upward("warehouse", module) == ["ketenbrug.stewardship",
                                            "ketenbrug.pipelines.definitions"]


def test_the_hub_imports_without_the_simulators():
    # The simulators are the demo's and the tests': a production install may leave them
    # out, so nothing but a CLI command that serves a world may need them.
    code = (
        "import importlib.abc, sys\n"
        "class Refuse(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith('ketenbrug.simulators'):\n"
        "            raise ImportError('simulators not installed')\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "import ketenbrug.cli, ketenbrug.pipelines.definitions\n"
        + "".join(f"import ketenbrug.{r}\n" for r in sorted(SERVICES | BELOW_SERVICES))
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
