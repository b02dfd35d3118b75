"""Benchmark the whole hub, end to end, on DuckDB (embedded) and on PostgreSQL (postgres).

    .venv/bin/python benchmarks/hub_end_to_end.py                        # 100k, both engines
    .venv/bin/python benchmarks/hub_end_to_end.py --clients 2000 --engine duckdb --json f.json

Per engine and size, as a user would run it: `ketenbrug world serve` in a process of its
own serves a synthetic world; `ketenbrug run` runs the hub against it, in a process of its
own, on a fresh temporary home (postgres: with roles and databases of its own, dropped
after). Three runs on that home: the full run, an unchanged rerun (same world), and a
change day (`ketenbrug world advance --days 1`, then run again). Same seed and day: both
engines see the same world and the same changes.

Per run: total wall time; wall time per stage from the Dagster run's step stats in the
home's instance; peak resident memory of the hub process tree (the world server is not in
it); records received (the batch ledger), packages delivered and log entries appended
(the disclosure log). A plain table per engine and size, and optionally JSON (--json).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261129
RUNS = ("full", "unchanged", "change day")
STAGES = ("landing (pull + boundary)", "contract checks", "pseudonyms", "dbt", "delivery")
STARTUP = "step process start-up"  # multiprocess executor only
SAMPLE_EVERY_S = 0.25
CLI = [sys.executable, "-m", "ketenbrug.cli"]


# -- the synthetic world, served by a process of its own -----------------------------------
@dataclass
class World:
    process: subprocess.Popen
    state_file: Path
    today: str
    ready_s: float


def start_world(workdir: Path, clients: int, seed: int, today: str,
                timeout_s: float = 900) -> World:
    """`ketenbrug world serve` in its own process; returns once its state file is written."""
    state_file, log = workdir / "world" / "server.json", workdir / "world.log"
    state_file.parent.mkdir(parents=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        [*CLI, "world", "serve", "--clients", str(clients), "--seed", str(seed), "--as-of", today,
         "--state-file", str(state_file), "--ground-truth", str(workdir / "world" / "truth.jsonl")],
        env=_clean_env(KETENBRUG_HOME=str(workdir / "world")), cwd=ROOT,
        stdout=log.open("w"), stderr=subprocess.STDOUT)
    # The state line comes after the state file is written: the server is up.
    while "state:" not in (text := log.read_text()):
        if process.poll() is not None or time.perf_counter() - started > timeout_s:
            process.kill()
            raise RuntimeError(f"world serve did not come up:\n{text[-3000:]}")
        time.sleep(0.2)
    today = re.search(r"today (\d{4}-\d{2}-\d{2})", text).group(1)
    return World(process, state_file, today, round(time.perf_counter() - started, 1))


def advance_world(world: World) -> dict[str, int]:
    """One day passes in the served world; returns changed or new records per dataset."""
    done = subprocess.run([*CLI, "world", "advance", "--days", "1",
                           "--state-file", str(world.state_file)],
                          env=_clean_env(), cwd=ROOT, capture_output=True, text=True, check=True)
    world.today = re.search(r"world today (\S+)", done.stdout).group(1)
    return {name: int(count) for name, count in
            re.findall(r"^\s+(\S+)\s+(\d+) changed or new$", done.stdout, re.M)}


def stop_world(world: World) -> int:
    """Stop the server (SIGTERM ends it cleanly); returns its peak resident MB."""
    peak_mb = _status_kb(world.process.pid, "VmHWM") // 1024
    world.process.send_signal(signal.SIGTERM)
    try:
        world.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        world.process.kill()
        world.process.wait()
    return peak_mb


# -- one hub run, in a process of its own ---------------------------------------------------
def run_hub(env: dict[str, str], log: Path, timeout_s: float) -> dict:
    """`ketenbrug run`: wall time, exit code, run id, and peak memory of its process tree.

    The tree (hub, step processes, dbt) is sampled from /proc, so the peak is of all of
    them at once; the largest single process comes exactly from wait4's rusage, which
    covers only this child and its descendants (not the world server); the hub's and
    dbt's own peaks are their VmHWM, the kernel's high-water mark, read while they run.
    """
    started = time.perf_counter()
    process = subprocess.Popen([*CLI, "run"], env=env, cwd=env["KETENBRUG_HOME"],
                               stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    peak_tree_kb, peak_hub_kb, peak_dbt_kb = 0, 0, 0
    try:
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout_s:
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            tree = _tree_rss_kb(process.pid)
            peak_tree_kb = max(peak_tree_kb, sum(tree.values()))
            # The kernel's high-water mark: exact, whenever the peak fell between samples.
            peak_hub_kb = max(peak_hub_kb, _status_kb(process.pid, "VmHWM"))
            peak_dbt_kb = max([peak_dbt_kb, *(_status_kb(pid, "VmHWM") for pid in tree
                                              if _is_dbt(pid))])
            time.sleep(SAMPLE_EVERY_S)
    except BaseException:  # the benchmark stopped (Ctrl-C, SIGTERM): no hub left behind
        os.killpg(process.pid, signal.SIGKILL)
        os.wait4(process.pid, 0)
        raise
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    wall = time.perf_counter() - started
    output = log.read_text()
    # The hub's run, and the billing run after it.
    run_ids = re.findall(r"^(?:dagster|billing) run (\S+):", output, re.M)
    return {"wall_s": round(wall, 1), "exit": process.returncode, "run_ids": run_ids,
            "peak_tree_mb": peak_tree_kb // 1024, "peak_process_mb": usage.ru_maxrss // 1024,
            "peak_hub_mb": peak_hub_kb // 1024, "peak_dbt_mb": peak_dbt_kb // 1024,
            "output_tail": "" if process.returncode == 0 else output[-2000:]}


def _is_dbt(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(part.endswith(b"/dbt") or part == b"dbt" for part in command[:2])


def _tree_rss_kb(root: int) -> dict[int, int]:
    """Resident KiB of `root` and of each of its descendants now, by process id."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    resident, todo = {}, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        resident[pid] = _status_kb(pid, "VmRSS")
    return resident


def _status_kb(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0  # ended meanwhile
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    return int(found.group(1)) if found else 0


# -- what the run's instance, ledger and log say --------------------------------------------
def stage_of(step_key: str) -> str:
    if step_key.startswith("landing__"):
        return STAGES[0]
    if step_key.endswith("_checks"):
        return STAGES[1]
    if step_key == "privacy__domain_pseudonyms":
        return STAGES[2]
    if step_key == "ketenbrug_dbt_models":
        return STAGES[3]
    if step_key.startswith("delivery__"):
        return STAGES[4]
    return step_key  # anything else keeps its own name


def stage_times(dagster_home: Path, run_ids: list[str]) -> dict:
    """Per stage: wall seconds during which any of its steps ran, and the steps' sum
    (steps run two at a time on the multiprocess executor, so the two differ). A step's
    time starts at STEP_START; before it, on the multiprocess executor, its own process
    starts (from STEP_WORKER_STARTING: spawn, imports, the definitions rebuilt), counted as
    a stage of its own. What is left of the run is Dagster's own work between steps."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        steps = [s for run_id in run_ids for s in instance.get_run_step_stats(run_id)
                 if s.start_time and s.end_time]
        runs = [instance.get_run_stats(run_id) for run_id in run_ids]
        launched = {r.event_log_entry.step_key: r.event_log_entry.timestamp
                    for run_id in run_ids for r in instance.get_records_for_run(
                        run_id, of_type=DagsterEventType.STEP_WORKER_STARTING).records}
    spans: dict[str, list[tuple[float, float]]] = {}
    for step in steps:
        spans.setdefault(stage_of(step.step_key), []).append((step.start_time, step.end_time))
        if step.step_key in launched:
            spans.setdefault(STARTUP, []).append((launched[step.step_key], step.start_time))
    stages = {name: {"wall_s": round(_covered(found), 1),
                     "steps_s": round(sum(end - start for start, end in found), 1)}
              for name, found in spans.items()}
    every_span = [span for found in spans.values() for span in found]
    run_s = sum(run.end_time - run.start_time for run in runs)
    return {"stages": stages, "run_s": round(run_s, 1),
            "between_steps_s": round(run_s - _covered(every_span), 1)}


def _covered(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of the time spans."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def ledger_totals(settings) -> dict[str, int]:
    """Batches, records received and quarantined batches in the batch ledger so far."""
    from ketenbrug.databases import open_database

    with open_database(settings.warehouse, read_only=True) as con:
        batches, received, quarantined = con.execute(
            "select count(*), coalesce(sum(received), 0), "
            "count(*) filter (where status = 'quarantined') from landing._batches").fetchone()
    return {"batches": int(batches), "received": int(received), "quarantined": int(quarantined)}


def disclosure_entries(settings) -> tuple[list[dict], int]:
    """The disclosure log's entries and its size in bytes: a file on embedded; on postgres
    whatever `settings.disclosure_log` is (a table in this tree), read the same way."""
    log = settings.disclosure_log
    if not log.exists():
        return [], 0
    text = log.read_bytes()
    return [json.loads(line) for line in text.decode().splitlines() if line.strip()], len(text)


# -- one engine and size: three runs ---------------------------------------------------------
def bench(engine: str, clients: int, seed: int, today: str, timeout_s: float) -> dict:
    from _postgres import postgres_profile_env

    from ketenbrug.config import Settings

    workdir = Path(tempfile.mkdtemp(prefix=f"kb-e2e-{engine}-{clients}-"))
    home = workdir / "home"  # fresh and owner-only, as the hub wants its home
    home.mkdir(mode=0o700)
    databases = postgres_profile_env() if engine == "postgres" else nullcontext({})
    figures: dict = {"engine": engine, "clients": clients, "seed": seed, "runs": {}}
    try:
        with databases as profile_env, _served(workdir, clients, seed, today, figures) as world:
            entries, ledger = 0, {"batches": 0, "received": 0, "quarantined": 0}
            for name in RUNS:
                if name == "change day":
                    figures["changed"] = advance_world(world)
                env = _hub_env(home, world, profile_env)
                _say(f"{engine} {clients:,}: {name} run (as of {world.today})")
                ran = run_hub(env, workdir / f"run-{RUNS.index(name)}.log", timeout_s)
                settings = Settings.load(env)
                if ran["run_ids"]:
                    ran.update(stage_times(settings.dagster_home, ran["run_ids"]))
                after, (log, log_bytes) = ledger_totals(settings), disclosure_entries(settings)
                new = log[entries:]
                ran.update(
                    as_of=world.today,
                    received=after["received"] - ledger["received"],
                    batches=after["batches"] - ledger["batches"],
                    quarantined=after["quarantined"] - ledger["quarantined"],
                    log_entries=len(new), log_mb=round(log_bytes / 2**20, 1),
                    packages=sum(1 for e in new if e.get("event") == "delivery"
                                 and e.get("package_sha256")),
                    billing=sum(1 for e in new if e.get("event") == "delivery"
                                and e.get("manifest_sha256")),
                    events=_count(e.get("event", "?") for e in new))
                entries, ledger = len(log), after
                figures["runs"][name] = ran
                _say(f"  {ran['wall_s']} s, exit {ran['exit']}, peak {ran['peak_tree_mb']} MB")
                if ran["exit"] == 1:  # a check failed, the run went on: keep which and why
                    ran["quarantine_list"] = subprocess.run(
                        [*CLI, "quarantine", "list"], env=env, cwd=ROOT, capture_output=True,
                        text=True).stdout
                    _say(ran["quarantine_list"])
                elif ran["exit"] != 0:
                    _say(ran["output_tail"])
            figures["landed_total"] = ledger["received"]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


@contextmanager
def _served(workdir: Path, clients: int, seed: int, today: str, figures: dict):
    world = start_world(workdir, clients, seed, today)
    figures["world_ready_s"] = world.ready_s
    try:
        yield world
    finally:
        figures["world_peak_mb"] = stop_world(world)


def _hub_env(home: Path, world: World, profile_env: dict[str, str]) -> dict[str, str]:
    """What `ketenbrug run` is given: the home, the served sources and the world's date."""
    state = json.loads(world.state_file.read_text())
    env = _clean_env(KETENBRUG_HOME=str(home), KETENBRUG_AS_OF_DATE=world.today, **profile_env)
    for slug, url in state["base_urls"].items():
        env[f"KETENBRUG_{slug.upper()}_URL"] = url
        env[f"KETENBRUG_{slug.upper()}_CREDENTIAL"] = state["credentials"][slug]
    return env


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any hub setting, so only ours count; no
    configuration file either."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KETENBRUG_") and k != "DAGSTER_HOME"}
    return {**env, "KETENBRUG_CONFIG": os.devnull, **extra}


def _count(values) -> dict[str, int]:
    counted: dict[str, int] = {}
    for value in values:
        counted[value] = counted.get(value, 0) + 1
    return counted


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the table -----------------------------------------------------------------------------
def print_table(figures: dict) -> None:
    runs = [figures["runs"].get(name, {}) for name in RUNS]
    changed = sum(figures.get("changed", {}).values())
    share = changed / figures["clients"]
    print(f"\n{figures['engine']}, {figures['clients']:,} clients, seed {figures['seed']} "
          f"(world ready in {figures['world_ready_s']} s, its peak {figures['world_peak_mb']} "
          "MB, not counted below)")
    print(f"  change day: {changed:,} records changed or new = {share:.1%} of clients, "
          f"{changed / max(figures['landed_total'], 1):.2%} of all records received"
          + ("" if 0.005 <= share <= 0.02 else "  (NOT ~1% of clients)"))
    print("  " + ", ".join(f"{k} {v}" for k, v in figures.get("changed", {}).items()))
    found = {s for r in runs for s in r.get("stages", {})}
    names = [*STAGES, *sorted(found - {*STAGES, STARTUP}), *sorted(found & {STARTUP})]
    header = ["full", "unchanged", f"change day ({share:.1%})"]
    print(f"  {'':<40}" + "".join(f"{h:>22}" for h in header))

    def row(label: str, cells: list[str]) -> None:
        print(f"  {label:<40}" + "".join(f"{c:>22}" for c in cells))

    for name in names:
        row(name + " s", [_stage_cell(r.get("stages", {}).get(name)) for r in runs])
    row("between steps, in the run s", [_num(r.get("between_steps_s")) for r in runs])
    row("outside the run (start, summary) s",
        [_num(round(r["wall_s"] - r["run_s"], 1)) if "run_s" in r else "-" for r in runs])
    row("TOTAL wall s", [_num(r.get("wall_s")) for r in runs])
    row("peak MB, hub tree (sampled)", [_num(r.get("peak_tree_mb")) for r in runs])
    row("peak MB, largest process", [_num(r.get("peak_process_mb")) for r in runs])
    row("peak MB, the hub process (VmHWM)", [_num(r.get("peak_hub_mb")) for r in runs])
    row("peak MB, dbt's process (VmHWM)", [_num(r.get("peak_dbt_mb")) for r in runs])
    row("records received", [_num(r.get("received")) for r in runs])
    row("batches (quarantined)", [f"{r.get('batches', '-')} ({r.get('quarantined', '-')})"
                                  for r in runs])
    row("packages delivered", [_num(r.get("packages")) for r in runs])
    row("billing statements delivered", [_num(r.get("billing")) for r in runs])
    row("log entries appended", [_num(r.get("log_entries")) for r in runs])
    row("log size after the run MB", [_num(r.get("log_mb")) for r in runs])
    row("exit code", [_num(r.get("exit")) for r in runs])
    for name, ran in zip(RUNS, runs, strict=True):
        failed = re.search(r"^failed (?:checks|steps): (.*)$", ran.get("output_tail", ""), re.M)
        if failed:
            print(f"  {name}: failed {failed.group(1)}")


def _stage_cell(stage: dict | None) -> str:
    if not stage:
        return "-"
    if stage["steps_s"] > stage["wall_s"] * 1.05:  # steps overlapped: show their sum too
        return f"{stage['wall_s']:.1f} (sum {stage['steps_s']:.1f})"
    return f"{stage['wall_s']:.1f}"


def _num(value) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


@click.command()
@click.option("--engine", type=click.Choice(["duckdb", "postgres", "both"]), default="both",
              show_default=True)
@click.option("--clients", multiple=True, default=("100000",), show_default=True,
              help="World size; repeatable or a comma list (2000,100000).")
@click.option("--seed", default=SEED, show_default=True)
@click.option("--today", default=lambda: (date.today() - timedelta(days=1)).isoformat(),
              help="The served world's first day [default: yesterday]: its change day is "
                   "then today, so no change is stamped later than the clock (contracts "
                   "quarantine a stamp in the future).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Also write the figures as JSON here.")
@click.option("--timeout", default=3600, show_default=True, help="Seconds per hub run.")
def main(engine: str, clients: tuple[str, ...], seed: int, today: str,
         json_path: Path | None, timeout: int) -> None:
    """Time the whole hub per engine and world size: full, unchanged and change-day runs."""
    # A SIGTERM stops the benchmark as Ctrl-C does, so the world server, the hub run and
    # the PostgreSQL databases are cleaned up (a plain SIGTERM would skip every `finally`).
    signal.signal(signal.SIGTERM, _stop)
    sizes = [int(n) for text in clients for n in text.split(",") if n.strip()]
    engines = ["duckdb", "postgres"] if engine == "both" else [engine]
    results = []
    for size in sizes:
        for one in engines:
            results.append(bench(one, size, seed, today, timeout))
            print_table(results[-1])
            if json_path:  # after each, so a long benchmark stopped midway keeps its figures
                json_path.write_text(json.dumps(results, indent=2))
    print("\nStage times: wall seconds during which any step of the stage ran (sum: the "
          "steps' own times, when they overlapped; postgres runs two steps at a time, so stages "
          "overlap and do not add up to the total). Step times start at Dagster's STEP_START; "
          "a step process's start-up before it (multiprocess executor) is a stage of its own. "
          "Peak MB excludes the world server and the PostgreSQL server's processes. A shared "
          "2-core machine: figures are noisy.")


if __name__ == "__main__":
    main()
