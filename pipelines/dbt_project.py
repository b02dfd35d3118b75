"""The dbt project as Dagster sees it. Kept apart so its manifest can be prepared first."""

from __future__ import annotations

from dagster_dbt import DbtProject

from ketenbrug.project_files import DBT_PROJECT_DIR

KETENBRUG_DBT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
