"""`ketenbrug world`: serve the synthetic source world, move it on, inject faults.

`serve` runs the five source systems until interrupted and writes a state file (admin URL
and token, base URLs, credentials; mode 0600) under `<KETENBRUG_HOME>/world/`; `advance`
and `faults` read it to reach the running server's control API (simulators/API.md).
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, date, datetime
from pathlib import Path

import click

from ketenbrug.cli.conventions import HubGroup, as_of_option
from ketenbrug.config import Settings

STATE_FILE = "server.json"
GROUND_TRUTH_FILE = "ground_truth.jsonl"


def _world_dir() -> Path:
    return Settings.from_env().home / "world"


def _state_option(command):
    return click.option(
        "--state-file", type=click.Path(path_type=Path), default=None,
        help="Where `serve` keeps its control details "
             f"[default: $KETENBRUG_HOME/world/{STATE_FILE}].",
    )(command)


@click.group(cls=HubGroup)
def world() -> None:
    """The synthetic source world: five source systems over HTTP on 127.0.0.1."""


@world.command()
@click.option("--clients", default=2000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Synthetic population size.")
@click.option("--seed", default=20261129, show_default=True, help="Seed of the synthetic world.")
@click.option("--faults", default="", help="Fault spec, e.g. 'dji:429x2,care:malformed' (API.md).")
@as_of_option("The world's today, YYYY-MM-DD [default: the current date].")
@click.option("--invalid-bsn-share", default=0.0, show_default=True,
              type=click.FloatRange(0, 1), help="Share of persons with an invalid BSN.")
@click.option("--ground-truth", type=click.Path(path_type=Path), default=None,
              help=f"Ground-truth file [default: $KETENBRUG_HOME/world/{GROUND_TRUTH_FILE}].")
@_state_option
def serve(clients: int, seed: int, faults: str, as_of, invalid_bsn_share: float,
          ground_truth: Path | None, state_file: Path | None) -> None:
    """Generate a world and serve its source systems until interrupted (Ctrl-C)."""
    from ketenbrug.simulators import FaultSpec, WorldServer, generate_world

    try:
        spec = FaultSpec.parse(faults)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    started = time.perf_counter()
    the_world = generate_world(clients, seed, as_of, invalid_bsn_share)
    truth = the_world.write_ground_truth(ground_truth or _world_dir() / GROUND_TRUTH_FILE)
    state_path = state_file or _world_dir() / STATE_FILE
    # SIGTERM (a supervisor, a test) ends the server as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    with WorldServer(the_world, faults=spec, admin=True) as server:
        # From here a SIGTERM may come at any moment (the state line tells a supervisor the
        # server is up): it stops the server cleanly, the state file removed.
        try:
            _write_state(state_path, server)
            click.echo(f"world: {clients} clients, seed {seed}, today {the_world.today}, "
                       f"ready in {time.perf_counter() - started:.1f} s")
            for slug, url in server.base_urls.items():
                scheme = "X-API-Key" if slug == "wijkteam" else "Bearer"
                click.echo(f"  {slug:<17} {url}  {scheme} {server.credentials[slug]}")
            click.echo(f"  {'admin':<17} {server.admin_url}  Bearer {server.admin_token}")
            click.echo(f"faults: {spec or 'none'}")
            for name, touched in server.fault_report.items():
                click.echo(f"  {name}: "
                           + "; ".join(f"{k} {', '.join(v)}" for k, v in touched.items()))
            click.echo(f"ground truth: {truth}")
            click.echo(f"state: {state_path}  (serving until Ctrl-C)")
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            click.echo("stopping")
        finally:
            state_path.unlink(missing_ok=True)


@world.command()
@click.option("--days", default=1, show_default=True, type=click.IntRange(1, 3660))
@click.option("--seed", type=int, default=None, help="Seed of the changes [default: the world's].")
@_state_option
def advance(days: int, seed: int | None, state_file: Path | None) -> None:
    """Move the running world on by DAYS days: admissions, releases, orders, corrections."""
    query = f"?days={days}" + (f"&seed={seed}" if seed is not None else "")
    status = _call(state_file, "POST", f"/_admin/advance{query}")
    click.echo(f"world today {status['today']} (version {status['version']})")
    for name, count in status["changed"].items():
        click.echo(f"  {name:<28} {count} changed or new")
    if date.fromisoformat(status["today"]) > datetime.now(UTC).date():
        # A real source cannot report tomorrow's changes; the hub's contracts say so.
        click.echo(f"note: the world's today {status['today']} is after the current date: "
                   "its changes are stamped in the future, and the hub's contracts "
                   "quarantine them (not_in_future rules). To follow a world day by day, "
                   "serve it from an earlier date (`world serve --as-of YYYY-MM-DD`).",
                   err=True)


@world.command()
@click.argument("spec", default="")
@_state_option
def faults(spec: str, state_file: Path | None) -> None:
    """Replace the running server's faults with SPEC (empty: none); print what they touched."""
    status = _call(state_file, "POST", "/_admin/faults", spec)
    click.echo(f"faults: {status['faults'] or 'none'}")
    for name, touched in status["fault_report"].items():
        click.echo(f"  {name}: " + "; ".join(f"{k} {', '.join(v)}" for k, v in touched.items()))


def _call(state_file: Path | None, method: str, path: str, body: str = "") -> dict:
    from ketenbrug.simulators.admin import admin_request

    state_path = state_file or _world_dir() / STATE_FILE
    try:
        state = json.loads(state_path.read_text())
    except FileNotFoundError:
        raise click.ClickException(
            f"no running world ({state_path} missing): start `ketenbrug world serve`") from None
    try:
        return admin_request(state["admin_url"], state["admin_token"], method, path, body)
    except (RuntimeError, OSError) as exc:
        raise click.ClickException(f"world server at {state['admin_url']}: {exc}") from None


def _write_state(path: Path, server) -> None:
    """Write the control details readable by the owner only: they hold credentials."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "admin_url": server.admin_url, "admin_token": server.admin_token,
        "base_urls": server.base_urls, "credentials": server.credentials, "pid": os.getpid(),
        "started_at": date.today().isoformat(),
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # a file left by an earlier run keeps its mode
        json.dump(state, handle, indent=2)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
