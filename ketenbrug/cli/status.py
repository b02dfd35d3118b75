"""`ketenbrug status`: is the hub healthy, and if not, what needs the steward.

Exit codes, for scripts and monitoring:
  0  healthy: the last hub run succeeded, every mart is built, no batch is quarantined,
     no check failed;
  1  needs attention: each problem is listed under "needs attention";
  3  a run is writing the (DuckDB) warehouse: marts and batches are not read, so the
     hub's health is not judged; ask again when it ends.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from ketenbrug import run_lock
from ketenbrug.cli.access import busy_holder, require_hub
from ketenbrug.config import Settings
from ketenbrug.stewardship.writers import runs_in_progress

if TYPE_CHECKING:  # the module reads the warehouse: imported when status is asked for
    from ketenbrug.stewardship.status import HubStatus

HEALTHY, NEEDS_ATTENTION, NOT_JUDGED = 0, 1, 3


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON document.")
def status(as_json: bool) -> None:
    """Is the hub healthy: last runs, rows per mart, open quarantines, stale marts and
    failed checks. Exit 0 healthy, 1 needs attention, 3 a run is writing (not judged)."""
    settings = Settings.from_env()
    require_hub(settings)
    sys.exit(print_status(settings, as_json=as_json)[0])


def print_status(settings: Settings, as_json: bool = False) -> tuple[int, HubStatus]:
    """Print the hub's status; return the exit code it stands for, and the status."""
    from ketenbrug.stewardship.status import collect_status

    # While another run writes the DuckDB warehouse its tables are not read (that could
    # make the run fail): the last runs are shown, and who is writing.
    writer = busy_holder(settings)
    hub = collect_status(settings, read_warehouse=writer is None)
    code = NOT_JUDGED if writer is not None else (NEEDS_ATTENTION if hub.problems else HEALTHY)
    if as_json:
        click.echo(hub.as_json())
        return code, hub
    if writer is not None:
        click.echo(f"{run_lock.describe(writer)}: marts and batches are shown when it ends")
    elif running := _run_in_progress(settings):
        # PostgreSQL: read during the run, from the last state it committed.
        click.echo(f"{run_lock.describe(running)}: shown is what it has committed so far")
    for job in ("hub", "billing"):
        run = hub.last_runs.get(job)
        click.echo(f"last {job} run: " + (f"{run['run_id']} {run['status']} at {run['started']}"
                                          if run else "none yet (run `ketenbrug demo`)"))
    if hub.warehouse_read:
        _print_warehouse(hub)
    click.echo("failed checks: " + (", ".join(hub.failed_checks) or "none"))
    if code == NEEDS_ATTENTION:
        click.echo("needs attention:")
        for problem in hub.problems:
            click.echo(f"  - {problem}")
    elif code == HEALTHY:
        click.echo("healthy")
    return code, hub


def _print_warehouse(hub: HubStatus) -> None:
    click.echo("marts:")
    for mart, rows in hub.mart_rows.items():
        stale = (f" (stale: {', '.join(hub.stale_marts[mart])} held back)"
                 if mart in hub.stale_marts else "")
        click.echo(f"  {mart:<26} {'not built' if rows is None else f'{rows} rows'}{stale}")
    if hub.batches:
        click.echo("latest batch per dataset "
                   "(received = staged + quarantined + unchanged + rejected):")
        for b in hub.batches:
            click.echo(f"  {b['source'] + '.' + b['dataset']:<32} {b['status']:<11} "
                       f"{b['received']:>6} = {b['staged']} + {b['quarantined']} + "
                       f"{b['unchanged']} + {b['rejected']}")
    for held in hub.open_quarantines:
        label = f"{held['source']}.{held['dataset']}"
        published = hub.published_as_of.get(label)
        click.echo(f"quarantined: {held['batch_id']} ({label}): {held['quarantined']} records "
                   "held back from marts and packages, which use what "
                   + (f"{label} published up to {published}" if published
                      else f"nothing of {label} (never published)")
                   + f" (`ketenbrug quarantine show {held['batch_id']}`)")


def _run_in_progress(settings: Settings) -> dict | None:
    """A run writing the hub now: one holding the home's lock, or (PostgreSQL) any run in
    progress on the Dagster instance, wherever it was launched."""
    holder = run_lock.current_holder(settings.home)
    if holder and holder.get("pid") != os.getpid():
        return holder
    if settings.profile == "postgres" and (running := runs_in_progress(settings)):
        return running[0]
    return None
