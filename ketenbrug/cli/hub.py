"""`ketenbrug demo | ui`: the hub's own commands, run by the data steward."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import click

from ketenbrug import run_lock
from ketenbrug.cli.privacy import record_world, recorded_world
from ketenbrug.cli.status import print_status
from ketenbrug.cli.what_to_do import what_to_do
from ketenbrug.config import Settings
from ketenbrug.privacy.file_modes import private_dir


@click.command()
@click.option("--clients", default=2000, show_default=True, help="Synthetic population size.")
@click.option("--seed", default=20261129, show_default=True, help="Seed of the synthetic world.")
@click.option("--fresh", is_flag=True,
              help="Start this home afresh (warehouse, vault, outbox, log, keys, history "
                   "removed) when it holds another world.")
@click.option("--redeliver", is_flag=True,
              help="Deliver every package again, also those as last delivered.")
@click.option("--rebuild", is_flag=True,
              help="Build every dbt model again, also when its inputs are as at the last build.")
@click.option("--faults", default="",
              help="Serve the world with these faults, in `world faults`' grammar, e.g. "
                   "'dji:future_date=2' or 'care:503x2' (simulators/API.md).")
def demo(clients: int, seed: int, fresh: bool, redeliver: bool, rebuild: bool,
         faults: str) -> None:
    """Generate a synthetic world, serve its source systems, run the whole hub in Dagster.

    One world per home: a home that holds another world (seed or size) is refused unless
    --fresh. One run at a time: refused while another run holds the hub (exit 3).
    """
    from ketenbrug.simulators.faults import FaultSpec

    try:
        spec = FaultSpec.parse(faults)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    settings = Settings.from_env()
    private_dir(settings.home)  # warehouse, vault, keys, log and outbox live in it
    try:
        with run_lock.hold(settings.home) as holder:
            _demo(settings, clients, seed, fresh, holder, redeliver, rebuild, spec)
    except run_lock.HubBusy as busy:
        click.echo(f"{busy}; this run is not started (wait for it, or see `ketenbrug status`)",
                   err=True)
        sys.exit(3)


def _demo(settings: Settings, clients: int, seed: int, fresh: bool, holder: dict,
          redeliver: bool, rebuild: bool, faults) -> None:
    from ketenbrug.cli.run import prepare_environment, run_hub_quietly
    from ketenbrug.simulators import WorldServer, generate_world

    _refuse_unfinished_rotation(settings)
    held = recorded_world(settings)
    if held and (held.get("clients"), held.get("seed")) != (clients, seed):
        if not fresh:
            raise click.ClickException(
                f"{settings.home} holds the world of {held.get('clients')} clients, seed "
                f"{held.get('seed')}; this run asks for {clients} clients, seed {seed}. "
                "Use another KETENBRUG_HOME, or --fresh to start this one afresh.")
        _start_afresh(settings)
    started = time.perf_counter()
    world = generate_world(clients=clients, seed=seed)
    click.echo(f"world: {clients} clients, seed {seed}, as of {world.today}")
    with WorldServer(world, faults=faults) as server:
        for slug, url in server.base_urls.items():
            click.echo(f"  source {slug:<17} {url}")
        if faults.faults:
            click.echo(f"  faults {faults}")
        prepare_environment(settings, server.base_urls, server.credentials,
                            as_of_date=world.today.isoformat())
        record_world(settings, clients, seed, world.today)
        outcome = run_hub_quietly(settings, holder, redeliver=redeliver, rebuild=rebuild)
        for name, touched in server.fault_report.items() if faults.faults else ():
            # Record keys of the synthetic world only: what a fault altered, to compare
            # with what the contracts quarantined.
            click.echo(f"  fault {name}: "
                       + "; ".join(f"{k} {', '.join(v)}" for k, v in touched.items()))
    report_outcome(settings, outcome, started)


def report_outcome(settings: Settings, outcome, started: float) -> None:
    """The summary `demo` and `run` end with; exit 1 when a step or a check failed."""
    click.echo(f"dagster run {outcome.run_id}: {'success' if outcome.success else 'FAILED'} "
               f"in {time.perf_counter() - started:.1f} s")
    if outcome.billing_months is None:
        click.echo("billing: no month has closed since the first billing month "
                   "(KETENBRUG_BILLING_FIRST_MONTH)")
    elif outcome.billing_run_id:
        first, last = outcome.billing_months
        click.echo(f"billing run {outcome.billing_run_id}: the closed months {first} .. {last}")
    else:
        click.echo("billing: not run, the hub run did not build billing_statements", err=True)
    _, hub = print_status(settings)
    _print_outputs(settings)
    if outcome.dbt_inputs_as_at:
        click.echo(f"dbt: no model rebuilt, every input is as at the build of run "
                   f"{outcome.dbt_inputs_as_at} (`--rebuild` builds anyway)")
    for asset, (delivered, unchanged) in sorted(outcome.deliveries.items()):
        # An unchanged recipient got nothing new: not sealed, sent or logged again.
        click.echo(f"{asset}: {delivered} delivered, {unchanged} unchanged "
                   "(as last delivered; `--redeliver` sends them again)")
    if outcome.log:
        click.echo(f"logs: {outcome.log}")
    if not outcome.success:
        click.echo(f"failed steps: {', '.join(outcome.failed_steps)}", err=True)
    if outcome.failed_checks:
        click.echo(f"failed checks: {', '.join(outcome.failed_checks)}: the other datasets "
                   "went on", err=True)
    if not outcome.success or outcome.failed_checks:
        click.echo(what_to_do(hub, outcome), err=True, nl=False)
        sys.exit(1)


def _refuse_unfinished_rotation(settings: Settings) -> None:
    from ketenbrug.privacy import KeyStore, LinkageInconsistent, linkage_state

    if not settings.keys_dir.exists():
        return
    state = linkage_state(KeyStore(settings.keys_dir), settings.vault, settings.warehouse)
    try:
        state.require_consistent("a hub run")
    except LinkageInconsistent as refused:
        raise click.ClickException(str(refused)) from None


def _start_afresh(settings: Settings) -> None:
    """Remove everything the hub keeps in this home, except the run lock it holds."""
    for path in sorted(settings.home.iterdir()):
        if path.name == run_lock.LOCK_FILE:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    click.echo(f"{settings.home}: started afresh")


@click.command()
@click.option("--clients", default=2000, show_default=True)
@click.option("--seed", default=20261129, show_default=True)
@click.option("--port", default=3000, show_default=True, help="The Dagster UI's port.")
@click.option("--portal-port", type=int,
              help="The portal's port [default: KETENBRUG_PORTAL_PORT, 8050].")
def ui(clients: int, seed: int, port: int, portal_port: int | None) -> None:
    """The Dagster UI and the portal on the demo's instance and warehouse, with the source
    systems served."""
    from ketenbrug.cli.run import prepare_environment
    from ketenbrug.portal.accounts import list_users
    from ketenbrug.portal.store import PortalStore
    from ketenbrug.simulators import WorldServer, generate_world

    settings = Settings.from_env()
    private_dir(settings.home)
    portal_port = portal_port or int(settings.portal("portal_port"))
    world = generate_world(clients=clients, seed=seed)
    with WorldServer(world) as server:
        prepare_environment(settings, server.base_urls, server.credentials,
                            as_of_date=world.today.isoformat())
        portal = subprocess.Popen([sys.executable, "-m", "ketenbrug.cli", "portal",
                                   "--port", str(portal_port)], env=os.environ.copy())
        click.echo(f"Dagster UI on http://127.0.0.1:{port}, portal on "
                   f"http://127.0.0.1:{portal_port} (Ctrl-C stops both and the sources)")
        if not list_users(PortalStore(settings.home)):
            click.echo("no portal accounts yet: `ketenbrug users add NAME --role "
                       "probation_officer --org RN` (roles: probation_officer, municipality "
                       "--org GM0363, privacy_officer, data_steward)")
        try:
            subprocess.run([sys.executable, "-m", "dagster", "dev",
                            "-m", "ketenbrug.pipelines.definitions", "-h", "127.0.0.1",
                            "-p", str(port)], cwd=settings.home, env=os.environ.copy(),
                           check=False)
        finally:
            portal.terminate()
            portal.wait(timeout=20)


def _print_outputs(settings: Settings) -> None:
    packages = sorted(settings.outbox_dir.glob("*/*.kbpkg"))
    click.echo("outputs:")
    click.echo(f"  warehouse        {settings.warehouse}")
    click.echo(f"  identity vault   {settings.vault}")
    click.echo(f"  handover outbox  {settings.outbox_dir} ({len(packages)} sealed packages)")
    click.echo(f"  disclosure log   {settings.disclosure_log}")
    click.echo(f"  dagster instance {settings.dagster_home} (`make ui` to browse)")


