"""`ketenbrug run` and `ketenbrug serve`: the hub against configured source systems.

`run` is the production counterpart of `demo`: the `hub` job once, with the same summary,
against the sources the configuration names (no synthetic world). `serve` starts one of the
processes a deployment keeps running (Dagster's code server, webserver or daemon) with the
hub's settings exported and its instance written, so each process sees the same hub.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import click
import yaml

from ketenbrug import run_lock
from ketenbrug.config import Settings
from ketenbrug.privacy.file_modes import private_dir

CODE_LOCATION = "ketenbrug.pipelines.definitions"


@click.command()
@click.option("--redeliver", is_flag=True,
              help="Deliver every package again, also those as last delivered.")
@click.option("--rebuild", is_flag=True,
              help="Build every dbt model again, also when its inputs are as at the last build.")
def run(redeliver: bool, rebuild: bool) -> None:
    """Run the hub job once against the configured source systems.

    Exit 0: success; 1: a step or check failed; 3: another run holds the hub.
    """
    from ketenbrug.cli.hub import report_outcome
    from ketenbrug.cli.run import prepare_environment, run_hub_quietly

    settings = Settings.load()
    settings.require_sources()  # every missing URL and credential named, before anything
    private_dir(settings.home)
    started = time.perf_counter()
    try:
        with run_lock.hold(settings.home) as holder:
            settings = prepare_environment(settings)
            click.echo(f"profile {settings.profile} ({settings.executor} executor): "
                       f"warehouse {settings.warehouse}")
            outcome = run_hub_quietly(settings, holder, redeliver=redeliver, rebuild=rebuild)
    except run_lock.HubBusy as busy:
        click.echo(f"{busy}; this run is not started (wait for it, or see `ketenbrug status`)",
                   err=True)
        sys.exit(3)
    report_outcome(settings, outcome, started)


def serve_command(process: str, settings: Settings, host: str, port: int,
                  code_server: str | None = None) -> list[str]:
    """The Dagster command line of one deployment process. The webserver and the daemon
    load the code location themselves (a code server of their own each), or, given
    `code_server` (HOST:PORT), use the one `serve code-server` runs there: one load of
    the code for all, and the location a deployer restarts on its own."""
    python = sys.executable
    if process == "code-server":
        return [python, "-m", "dagster", "code-server", "start", "-m", CODE_LOCATION,
                "-h", host, "-p", str(port)]
    location = ["-m", CODE_LOCATION]
    if code_server:
        # A workspace file, not --grpc-host/--grpc-port: those name the location
        # "grpc:HOST:PORT", so the webserver and the daemon would disagree on it when given
        # the address spelt differently (schedule and sensor state is kept per location
        # name), and it would differ from the name the module gets loaded directly.
        grpc_host, _, grpc_port = code_server.rpartition(":")
        workspace = settings.dagster_home / f"workspace.{process}.yaml"
        workspace.write_text(yaml.safe_dump({"load_from": [{"grpc_server": {
            "host": grpc_host, "port": int(grpc_port), "location_name": CODE_LOCATION}}]}))
        location = ["-w", str(workspace)]
    if process == "webserver":
        return [python, "-m", "dagster_webserver", *location, "-h", host, "-p", str(port)]
    # The dagster CLI has no `daemon` command (dagster 1.x: `python -m dagster daemon run`
    # exits 2, "No such command"): the daemon is its own script, beside this interpreter
    # whether or not the venv is on PATH.
    return [str(Path(python).parent / "dagster-daemon"), "run", *location]


def _host_port(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        grpc_host, _, grpc_port = value.rpartition(":")
        if not grpc_host or not grpc_port.isdigit():
            raise click.BadParameter("expected HOST:PORT, e.g. 127.0.0.1:4266")
    return value


@click.command()
@click.argument("process", type=click.Choice(["code-server", "webserver", "daemon"]))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=None, type=int,
              help="Default: 4266 (code server), 3000 (webserver).")
@click.option("--code-server", "code_server", default=None, metavar="HOST:PORT",
              callback=_host_port,
              help="webserver, daemon: use the code server running there (`serve "
                   "code-server`) instead of loading the code location in a process of "
                   "their own.")
def serve(process: str, host: str, port: int | None, code_server: str | None) -> None:
    """Start one of a deployment's long-running processes in the foreground.

    A deployment runs three: the webserver (UI, launches runs), the daemon (run queue with
    its concurrency limits, schedules, sensors, run monitoring), and optionally a code
    server (then give the webserver and the daemon `--code-server HOST:PORT`). Each is
    started with the hub's settings and writes nothing but its own state.
    """
    from ketenbrug.cli.run import prepare_environment

    if code_server and process == "code-server":
        raise click.UsageError("--code-server is for the webserver and the daemon")
    settings = Settings.load()
    private_dir(settings.home)
    settings = prepare_environment(settings)
    port = port or (4266 if process == "code-server" else 3000)
    command = serve_command(process, settings, host, port, code_server)
    click.echo(f"{process} for profile {settings.profile}: {' '.join(command[1:])}")
    os.chdir(settings.home)
    # An ignored SIGINT survives exec, and a background job of a non-interactive shell
    # (`cmd &` in a script, as CI and init scripts start it) has one: the code server maps
    # SIGTERM onto SIGINT's handler, so it would then ignore a supervisor's SIGTERM too.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execv(command[0], command)  # the process becomes Dagster's: signals reach it directly
