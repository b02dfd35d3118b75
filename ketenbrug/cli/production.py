"""`ketenbrug run` and `ketenbrug serve`: the hub against configured source systems.

`run` is the production counterpart of `demo`: the `hub` job once, with the same summary,
against the sources the configuration names (no synthetic world). `serve` starts one of the
processes a deployment keeps running (Dagster's code server, webserver or daemon) with the
hub's settings exported and its instance written, so each process sees the same hub.
"""

from __future__ import annotations

import os
import sys
import time

import click

from ketenbrug import run_lock
from ketenbrug.config import Settings
from ketenbrug.privacy.file_modes import private_dir

CODE_LOCATION = "ketenbrug.pipelines.definitions"


@click.command()
def run() -> None:
    """Run the hub job once against the configured source systems.

    Exit 0: success; 1: a step or check failed; 3: another run holds the hub.
    """
    from ketenbrug.cli.hub import report_outcome
    from ketenbrug.cli.run import prepare_environment, run_hub_job

    settings = Settings.load()
    settings.require_sources()  # every missing URL and credential named, before anything
    private_dir(settings.home)
    started = time.perf_counter()
    try:
        with run_lock.hold(settings.home) as holder:
            settings = prepare_environment(settings)
            click.echo(f"profile {settings.profile} ({settings.executor} executor): "
                       f"warehouse {settings.warehouse}")
            outcome = run_hub_job(holder)
    except run_lock.HubBusy as busy:
        click.echo(f"{busy}; this run is not started (wait for it, or see `ketenbrug status`)",
                   err=True)
        sys.exit(3)
    report_outcome(settings, outcome, started)


def serve_command(process: str, settings: Settings, host: str, port: int) -> list[str]:
    """The Dagster command line of one deployment process."""
    python = sys.executable
    if process == "code-server":
        return [python, "-m", "dagster", "code-server", "start", "-m", CODE_LOCATION,
                "-h", host, "-p", str(port)]
    if process == "webserver":
        return [python, "-m", "dagster_webserver", "-m", CODE_LOCATION, "-h", host,
                "-p", str(port)]
    return [python, "-m", "dagster", "daemon", "run", "-m", CODE_LOCATION]


@click.command()
@click.argument("process", type=click.Choice(["code-server", "webserver", "daemon"]))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=None, type=int,
              help="Default: 4266 (code server), 3000 (webserver).")
def serve(process: str, host: str, port: int | None) -> None:
    """Start one of a deployment's long-running processes in the foreground.

    A deployment runs three: the webserver (UI, launches runs), the daemon (run queue with
    its concurrency limits, schedules, sensors, run monitoring), and optionally a code
    server. Each is started with the hub's settings and writes nothing but its own state.
    """
    from ketenbrug.cli.run import prepare_environment

    settings = Settings.load()
    private_dir(settings.home)
    settings = prepare_environment(settings)
    port = port or (4266 if process == "code-server" else 3000)
    command = serve_command(process, settings, host, port)
    click.echo(f"{process} for profile {settings.profile}: {' '.join(command[1:])}")
    os.chdir(settings.home)
    os.execv(command[0], command)  # the process becomes Dagster's: signals reach it directly
