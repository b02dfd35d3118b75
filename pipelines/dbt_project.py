"""The dbt project as Dagster sees it. Kept apart so its manifest can be prepared first."""

from __future__ import annotations

import os
from pathlib import Path

from dagster_dbt import DbtProject

DBT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
MANIFEST = DBT_DIR / "target" / "manifest.json"

KETENBRUG_DBT = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than any model file.

    dagster-dbt reads target/manifest.json at load time (../shared/STACK.md); parsing
    needs no database, so this is safe before any run.
    """
    sources = [p for p in DBT_DIR.rglob("*") if p.suffix in {".sql", ".yml", ".yaml", ".csv"}
               and "target" not in p.parts and "logs" not in p.parts]
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    if MANIFEST.exists() and MANIFEST.stat().st_mtime >= newest:
        return MANIFEST
    from dbt.cli.main import dbtRunner  # heavy import, only when a parse is due

    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("KETENBRUG_WAREHOUSE", str(DBT_DIR / "target" / "parse.duckdb"))
    result = dbtRunner().invoke(["parse", "--project-dir", str(DBT_DIR),
                                 "--profiles-dir", str(DBT_DIR), "--quiet"])
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
    return MANIFEST
