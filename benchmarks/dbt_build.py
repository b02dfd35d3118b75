"""Benchmark `dbt build` of every model on DuckDB as the world grows.

    .venv/bin/python benchmarks/dbt_build.py                        # 10k, 100k, 1M clients
    .venv/bin/python benchmarks/dbt_build.py --sizes 10000 --sizes 100000 --repeat 1
    .venv/bin/python benchmarks/dbt_build.py land --home DIR --clients N   # land only (JSON)

Per size, in a child process of its own and a scratch home: generate the synthetic world,
serve it over HTTP and land it the faithful way - the Dagster landing assets with their
blocking contract and accounting checks, then the domain pseudonyms - and time that;
then time `dbt build` (models, data tests, unit tests) in a process of its own, as the
hub runs it, `--repeat` times on the same warehouse (a rebuild replaces every table) and
take the median. Prints each size's rows landed, times, and how the build time grows
against the previous size (growth factor per tenfold clients; 10.0 is linear).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from ketenbrug.project_files import DBT_PROJECT_DIR as DBT_DIR

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261129
_OVERRIDES = ("KETENBRUG_WAREHOUSE", "KETENBRUG_VAULT", "KETENBRUG_KEYS_DIR", "DAGSTER_HOME")


def land(home: Path, clients: int, seed: int = SEED) -> dict:
    """Generate a world of `clients`, land every dataset through the Dagster landing assets
    and their checks, and re-key the domain pseudonyms into `home`'s warehouse.

    Returns the warehouse path, the world's date, rows per landing table and the seconds
    each stage took. Refuses (RuntimeError) a run whose landing steps failed; a batch its
    contract quarantines is not a failure here, staging simply does not read it.
    """
    os.environ["KETENBRUG_HOME"] = str(home)
    for var in _OVERRIDES:
        os.environ.pop(var, None)
    from ketenbrug.cli.run import prepare_environment
    from ketenbrug.config import Settings
    from ketenbrug.simulators import WorldServer, generate_world

    settings, figures = Settings.from_env(), {}
    started = time.perf_counter()
    world = generate_world(clients=clients, seed=seed)
    figures["generate_s"] = round(time.perf_counter() - started, 1)
    with WorldServer(world) as server:
        prepare_environment(settings, server.base_urls, server.credentials,
                            as_of_date=world.today.isoformat())
        from dagster import AssetKey

        from ketenbrug.pipelines.assets.landing import LANDING_ASSETS
        from ketenbrug.pipelines.definitions import defs

        selection = [key for asset in LANDING_ASSETS for key in asset.keys]
        selection.append(AssetKey(["privacy", "domain_pseudonyms"]))
        started = time.perf_counter()
        result = defs.resolve_job_def("hub").execute_in_process(
            asset_selection=selection, raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
        figures["land_s"] = round(time.perf_counter() - started, 1)
    failed = [e.step_key for e in result.all_events if e.is_step_failure
              and e.step_key and not e.step_key.endswith("_contract")]
    if failed:
        raise RuntimeError(f"landing failed in steps {failed}")
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'landing' "
            "and table_name not like '\\_%' escape '\\' order by 1").fetchall()]
        rows = {t: con.execute(f"select count(*) from landing.{t}").fetchone()[0]  # noqa: S608
                for t in tables}
        quarantined = con.execute(
            "select count(*) from landing._batches where status = 'quarantined'").fetchone()[0]
    finally:
        con.close()
    return {"warehouse": str(settings.warehouse_path), "as_of": world.today.isoformat(),
            "landed_rows": rows, "quarantined_batches": quarantined, **figures}


def dbt_build(warehouse: Path, as_of: str, target: Path) -> dict:
    """Run `dbt build` of every model on `warehouse` as of `as_of`; return wall seconds,
    dbt's own elapsed seconds and the nodes by status. Refuses (RuntimeError) a red build."""
    env = {**os.environ, "KETENBRUG_WAREHOUSE": str(warehouse),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--project-dir", str(DBT_DIR),
         "--profiles-dir", str(DBT_DIR), "--target-path", str(target),
         "--log-path", str(target / "logs"), "--vars", json.dumps({"as_of_date": as_of})],
        env=env, capture_output=True, text=True)
    wall = round(time.perf_counter() - started, 1)
    if done.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{done.stdout[-3000:]}")
    results = json.loads((target / "run_results.json").read_text())
    statuses: dict[str, int] = {}
    for node in results["results"]:
        statuses[node["status"]] = statuses.get(node["status"], 0) + 1
    return {"build_wall_s": wall, "build_dbt_s": round(results["elapsed_time"], 1),
            "nodes": statuses}


def _one_size(clients: int, seed: int, repeat: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"kb-bench-{clients}-"))
    try:
        done = subprocess.run(
            [sys.executable, __file__, "land", "--home", str(home), "--clients", str(clients),
             "--seed", str(seed)], capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"landing {clients} clients failed:\n{done.stderr[-3000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        builds = sorted((dbt_build(Path(figures["warehouse"]), figures["as_of"],
                                   home / "dbt_target") for _ in range(repeat)),
                        key=lambda build: build["build_wall_s"])
        figures.update(builds[len(builds) // 2])
        figures["build_runs_s"] = [build["build_wall_s"] for build in builds]
        figures["warehouse_mb"] = round(Path(figures["warehouse"]).stat().st_size / 2**20)
        return {"clients": clients, **figures}
    finally:
        shutil.rmtree(home, ignore_errors=True)


@click.group(invoke_without_command=True)
@click.option("--sizes", multiple=True, type=int, default=(10_000, 100_000, 1_000_000),
              show_default=True, help="Client counts, smallest first.")
@click.option("--seed", default=SEED, show_default=True)
@click.option("--repeat", default=3, show_default=True, help="dbt builds per size (median).")
@click.pass_context
def main(ctx: click.Context, sizes: tuple[int, ...], seed: int, repeat: int) -> None:
    """Time landing and `dbt build` per world size and print how the build time grows."""
    if ctx.invoked_subcommand:
        return
    previous = None
    for clients in sorted(sizes):
        figures = _one_size(clients, seed, repeat)
        landed = sum(figures["landed_rows"].values())
        growth = ""
        if previous:
            factor = figures["build_wall_s"] / previous["build_wall_s"]
            growth = (f"  x{factor:.2f} build time for x{clients / previous['clients']:.0f} "
                      "clients")
        print(f"{clients:>9,} clients  {landed:>10,} landed rows  generate "
              f"{figures['generate_s']:>6.1f} s  land {figures['land_s']:>6.1f} s  dbt build "
              f"{figures['build_wall_s']:>6.1f} s (dbt {figures['build_dbt_s']:.1f} s)  "
              f"warehouse {figures['warehouse_mb']} MB{growth}", flush=True)
        print(f"           builds {figures['build_runs_s']} s, {json.dumps(figures['nodes'])}, "
              f"quarantined batches {figures['quarantined_batches']}", flush=True)
        previous = figures


@main.command("land")
@click.option("--home", type=click.Path(path_type=Path), required=True)
@click.option("--clients", type=int, required=True)
@click.option("--seed", default=SEED, show_default=True)
def land_command(home: Path, clients: int, seed: int) -> None:
    """Land a world into HOME and print what landed as one JSON line."""
    print(json.dumps(land(home, clients, seed)))


if __name__ == "__main__":
    main()
