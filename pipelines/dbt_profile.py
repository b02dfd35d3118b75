"""dbt's profile for one hub, written from its resource rather than read from variables.

dbt reads its connection from profiles.yml. The project's own (dbt_project/profiles.yml)
takes environment variables, for a steward running dbt by hand; the hub's runs instead
write the profile of their HubStorage into the hub's folder and pass `--profiles-dir`
and `--target`, so dbt builds exactly the warehouse the run's resources name, whatever
the process's environment holds, and no step has to set variables for it. The password
is never written: the profile reads it from KETENBRUG_PG_PASSWORD (a secret, set in the
environment, where the hub's settings read it too).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ketenbrug.databases import PostgresTarget
from ketenbrug.pipelines.resources import HubStorage
from ketenbrug.privacy.file_modes import private_dir, write_private

PROFILE = "ketenbrug"  # dbt_project.yml's `profile:`


def dbt_profile_args(hub: HubStorage) -> list[str]:
    """`--profiles-dir` and `--target` for dbt on `hub`'s warehouse (the profile is written
    first, owner-only)."""
    target = hub.warehouse_target()
    if isinstance(target, PostgresTarget):
        name, output = "postgres", {
            "type": "postgres", "host": target.host, "port": target.port,
            "user": target.user, "dbname": target.dbname, "schema": hub.dbt_schema,
            "password": "{{ env_var('KETENBRUG_PG_PASSWORD', '') }}", "threads": 4}
    else:
        name, output = "duckdb", {"type": "duckdb", "path": str(Path(target).resolve()),
                                  "schema": "main", "threads": 1}
        if hub.duckdb_memory_limit:  # beyond it DuckDB spills to disk rather than grow
            output["settings"] = {"memory_limit": hub.duckdb_memory_limit}
    folder = private_dir(hub.files_dir() / "dbt_profile")
    profile = {PROFILE: {"target": name, "outputs": {name: output}}}
    write_private(folder / "profiles.yml", yaml.safe_dump(profile, sort_keys=False).encode())
    return ["--profiles-dir", str(folder), "--target", name]
