"""One writer per hub home: held by a run, refused to a second, freed when its holder dies
(even by kill -9), and taken by runs launched from the UI too (through HubStorage)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from dagster import asset, materialize

from ketenbrug import run_lock
from ketenbrug.pipelines.resources import HubStorage

HOLD = ("import sys, time; from pathlib import Path; from ketenbrug import run_lock\n"
        "with run_lock.hold(Path(sys.argv[1]), run_id='run-123'):\n"
        "    print('held', flush=True); time.sleep(600)\n")


@pytest.fixture
def holder(tmp_path):
    """Another process holding the hub's run lock."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def test_a_second_holder_is_refused_with_who_holds_it(tmp_path, holder):
    with pytest.raises(run_lock.HubBusy, match=r"^a hub run \(run-123, started at \S+\) "
                                               r"is in progress$"), run_lock.hold(tmp_path):
        pass
    assert run_lock.current_holder(tmp_path)["pid"] == holder.pid


def test_the_lock_of_a_killed_holder_is_free_at_once(tmp_path, holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert run_lock.current_holder(tmp_path) is None
    with run_lock.hold(tmp_path, what="hub run") as record:
        assert record["pid"] and run_lock.current_holder(tmp_path) is not None


def test_a_run_launched_outside_the_cli_takes_the_lock_too(tmp_path, holder):
    @asset
    def touches_the_hub(hub: HubStorage) -> None:
        """An asset that needs the hub's storage, as every asset of the hub does."""

    hub = HubStorage(warehouse_path=str(tmp_path / "w.duckdb"), vault_path=str(tmp_path / "v"),
                     keys_dir=str(tmp_path / "k"), outbox_dir=str(tmp_path / "o"),
                     disclosure_log=str(tmp_path / "l"), home=str(tmp_path))
    result = materialize([touches_the_hub], resources={"hub": hub}, raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.is_failure]
    assert failures and "a hub run (run-123" in str(failures)
    holder.kill()
    holder.wait()
    assert materialize([touches_the_hub], resources={"hub": hub}).success
