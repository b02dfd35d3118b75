"""Where the hub's own files are: the dbt project, reference data, the instance template.

Found as package resources of `ketenbrug`, so an installed wheel finds them as a
checkout does; nothing walks up from a module's `__file__`.
"""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(str(resources.files("ketenbrug"))).resolve()
DBT_PROJECT_DIR = (PACKAGE_DIR / "dbt_project").resolve()
# The parsed project (dagster-dbt reads it when the code location loads).
DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
REFERENCE_DIR = (PACKAGE_DIR / "reference").resolve()
DAGSTER_INSTANCE_TEMPLATE = (PACKAGE_DIR / "dagster.yaml").resolve()


DBT_RUN_TARGET = "dbt_target"


def dbt_run_target(warehouse: object, home: Path | str | None = None) -> Path:
    """Where a hub run's `dbt build` writes its manifest and compiled SQL, so audits read
    the SQL that actually ran on that warehouse.

    `warehouse` is the hub's warehouse Target: a DuckDB file (a path) keeps its dbt target
    beside it, as always; a warehouse that is no file (a PostgreSQL database) keeps it in
    the hub's `home`, which must then be given (this module imports none of the hub's
    rooms, so a Target is told apart by being a path or not).
    """
    if isinstance(warehouse, str | os.PathLike):
        return Path(warehouse).parent / DBT_RUN_TARGET
    if home is None or str(home) == "":
        raise ValueError(f"the warehouse {warehouse} is no file: give the hub's home "
                         "for dbt's target folder")
    return Path(home) / DBT_RUN_TARGET


def dbt_run_manifest(warehouse: object, home: Path | str | None = None) -> Path:
    """The manifest of the last build on this warehouse, else the parsed project's."""
    ran = dbt_run_target(warehouse, home) / "manifest.json"
    return ran if ran.exists() else DBT_MANIFEST


def dbt_project_files() -> list[Path]:
    """The dbt project's own files (models, macros, tests, seeds, its yml), sorted."""
    return sorted(p for p in DBT_PROJECT_DIR.rglob("*")
                  if p.suffix in {".sql", ".yml", ".yaml", ".csv"}
                  and "target" not in p.parts and "logs" not in p.parts)


def dbt_project_digest() -> str:
    """A hash of the dbt project's files, names and contents: it changes with any model,
    macro, test, seed or project var."""
    digest = hashlib.sha256()
    for path in dbt_project_files():
        digest.update(str(path.relative_to(DBT_PROJECT_DIR)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def ensure_dbt_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than any model file.

    dagster-dbt reads target/manifest.json at load time (../shared/STACK.md); parsing
    needs no database, so this is safe before any run. Returns the manifest's path;
    raises RuntimeError when dbt cannot parse the project.
    """
    newest = max((p.stat().st_mtime for p in dbt_project_files()), default=0.0)
    if DBT_MANIFEST.exists() and DBT_MANIFEST.stat().st_mtime >= newest:
        return DBT_MANIFEST
    from dbt.cli.main import dbtRunner  # heavy import, only when a parse is due

    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("KETENBRUG_WAREHOUSE", str(DBT_MANIFEST.parent / "parse.duckdb"))
    result = dbtRunner().invoke(["parse", "--project-dir", str(DBT_PROJECT_DIR),
                                 "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"])
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
    return DBT_MANIFEST
