"""`ketenbrug serve code-server | webserver | daemon` as a deployment runs them.

Three real processes on the production (postgres) profile, sharing one KETENBRUG_HOME and
its instance: the code server loads the code location once; the webserver and the daemon
use it (`--code-server HOST:PORT`) rather than loading the code themselves. The tests read
what a deployer would check: the location and its jobs, schedules and sensor in the UI's
GraphQL, the daemons' heartbeats on the shared PostgreSQL instance, the run queue's limits,
and that a supervisor's SIGTERM stops each process, with nothing of it left running.

The module's tests share one deployment and run in file order; the last one stops it.
Every wait has a deadline that fails with the process's output; whatever is still running
at the end is killed with its process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from ketenbrug.connectors import SOURCES
from tests.postgres import postgres_profile_env

pytestmark = pytest.mark.postgres

HOST = "127.0.0.1"
# Generous: another suite may share this machine's two cores, and the code location's
# load (dbt manifest, every asset) takes 10-40 s there.
START_DEADLINE_S = 240
STOP_DEADLINE_S = 30
# The deployment's processes never see the test run's own hub settings.
_DROPPED = ("DAGSTER_HOME", "KETENBRUG_CONFIG")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def group_members(pgid: int) -> dict[int, str]:
    """Live (not zombie) processes of a process group: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        state, _ppid, pgrp = stat[stat.rindex(")") + 2:].split()[:3]
        if int(pgrp) == pgid and state not in ("Z", "X"):
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def process_env(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0")
                if "=" in item)


@dataclass
class Served:
    """One `ketenbrug serve` process, in a session (process group) of its own."""

    name: str
    process: subprocess.Popen
    logs: Path
    stopped_in_s: float | None = field(default=None)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        tails = []
        for stream in ("err", "out"):
            text = (self.logs / f"{self.name}.{stream}").read_text(errors="replace")
            tails.append(f"--- {self.name} std{stream} (last 4000 characters) ---\n"
                         f"{text[-4000:]}")
        return "\n".join(tails)

    def wait_for(self, what: str, probe: Callable[[], Any], deadline_s: float) -> Any:
        """`probe()` until it returns something truthy; fail with the output when the
        process exits or the deadline passes first."""
        deadline = time.monotonic() + deadline_s
        last: Any = None
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited ({self.process.returncode}) before {what}\n"
                            f"{self.output()}")
            try:
                last = probe()
                if last:
                    return last
            except Exception as error:  # noqa: BLE001 - not ready yet: the next try
                last = error
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name}: no {what} within {deadline_s} s "
                            f"(last: {last!r})\n{self.output()}")
            time.sleep(1)

    def terminate(self) -> int:
        """SIGTERM to the process itself, as a supervisor sends it; its exit code."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} still running {STOP_DEADLINE_S} s after SIGTERM\n"
                        f"{self.output()}")
        self.stopped_in_s = time.monotonic() - started
        return code

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@dataclass
class Deployment:
    home: Path
    env: dict[str, str]
    code_server: Served
    webserver: Served
    daemon: Served
    code_server_port: int
    url: str

    def graphql(self, query: str) -> dict[str, Any]:
        response = requests.post(f"{self.url}/graphql", json={"query": query}, timeout=30)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


def _start(name: str, args: list[str], env: dict[str, str], home: Path, logs: Path,
           started: list[Served]) -> Served:
    command = [sys.executable, "-m", "ketenbrug.cli", "serve", name, *args]
    with (logs / f"{name}.out").open("w") as out, (logs / f"{name}.err").open("w") as err:
        process = subprocess.Popen(command, env=env, cwd=home, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    served = Served(name, process, logs)
    started.append(served)
    return served


def _code_server_answers(port: int) -> Callable[[], bool]:
    def probe() -> bool:
        from dagster._grpc.client import DagsterGrpcClient

        # The proxy listens once its code server has loaded; until then a refused
        # connection, without the gRPC client's noise.
        socket.create_connection((HOST, port), timeout=5).close()
        client = DagsterGrpcClient(port=port, host=HOST)
        # SERVING once the proxy's code server has loaded the location.
        return (client.health_check_query() == "SERVING"
                and client.ping("ketenbrug")["echo"] == "ketenbrug")
    return probe


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    with postgres_profile_env() as pg:
        home = tmp_path_factory.mktemp("serve_home")
        logs = tmp_path_factory.mktemp("serve_logs")
        env = {k: v for k, v in os.environ.items()
               if k not in _DROPPED
               and not (k.startswith("KETENBRUG_") and not k.startswith("KETENBRUG_TEST_"))}
        env.update(pg, KETENBRUG_HOME=str(home))
        code_port, web_port = free_port(), free_port()
        started: list[Served] = []
        try:
            code_server = _start("code-server", ["--host", HOST, "--port", str(code_port)],
                                 env, home, logs, started)
            code_server.wait_for("answer on gRPC", _code_server_answers(code_port),
                                 START_DEADLINE_S)
            at = ["--code-server", f"{HOST}:{code_port}"]
            webserver = _start("webserver", ["--host", HOST, "--port", str(web_port), *at],
                               env, home, logs, started)
            url = f"http://{HOST}:{web_port}"
            webserver.wait_for("/server_info", lambda: requests.get(
                f"{url}/server_info", timeout=5).json(), START_DEADLINE_S)
            daemon = _start("daemon", at, env, home, logs, started)
            yield Deployment(home, env, code_server, webserver, daemon, code_port, url)
        finally:
            for served in reversed(started):
                served.kill_group()


LOCATION_QUERY = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus displayMetadata { key value }
  locationOrLoadError { __typename
    ... on PythonError { message }
    ... on RepositoryLocation { name repositories {
      name jobs { name } sensors { name }
      schedules { name scheduleState { status } } } } } } } } }"""

INSTANCE_QUERY = """{ instance {
  runQueuingSupported
  runQueueConfig { maxConcurrentRuns tagConcurrencyLimitsYaml }
  daemonHealth { allDaemonStatuses {
    daemonType required healthy lastHeartbeatTime lastHeartbeatErrors { message } } } } }"""

REQUIRED_DAEMONS = {"QUEUED_RUN_COORDINATOR", "SCHEDULER", "SENSOR", "MONITORING"}


def test_the_code_server_loads_the_location_once(deployment):
    members = group_members(deployment.code_server.pid)
    assert any(" api grpc " in cmd and "ketenbrug.pipelines.definitions" in cmd
               for cmd in members.values()), members
    # The webserver and the daemon load nothing themselves: no code server of their own.
    for served in (deployment.webserver, deployment.daemon):
        served.wait_for("exec of Dagster's process", lambda s=served: any(
            "workspace." in cmd for cmd in group_members(s.pid).values()), START_DEADLINE_S)
        cmdlines = group_members(served.pid).values()
        assert not [cmd for cmd in cmdlines if " api grpc" in cmd], (served.name, cmdlines)
        assert any(f"workspace.{served.name}.yaml" in cmd for cmd in cmdlines), cmdlines


def test_the_webserver_shows_the_code_servers_location(deployment):
    def loaded():
        entries = deployment.graphql(LOCATION_QUERY)["workspaceOrError"]["locationEntries"]
        return entries if all(e["loadStatus"] == "LOADED" for e in entries) else None

    (entry,) = deployment.webserver.wait_for("loaded location", loaded, START_DEADLINE_S)
    assert entry["name"] == "ketenbrug.pipelines.definitions"
    shown = {m["key"]: m["value"] for m in entry["displayMetadata"]}
    assert shown.items() >= {"host": HOST, "port": str(deployment.code_server_port)}.items()
    location = entry["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location
    (repository,) = location["repositories"]
    jobs = {job["name"] for job in repository["jobs"]}
    assert {"hub", "billing", *(f"ingest_{source}" for source in SOURCES)} <= jobs
    schedules = {s["name"]: s["scheduleState"]["status"] for s in repository["schedules"]}
    # Every pull, the daily hub run and the monthly billing, stopped until a steward
    # switches them on.
    assert schedules == {**{f"pull_{source}": "STOPPED" for source in SOURCES},
                         "hub_daily": "STOPPED", "billing_monthly": "STOPPED"}
    assert {s["name"] for s in repository["sensors"]} == {"dji_changes"}


def _healthy(statuses: list[dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    by_type = {s["daemonType"]: s for s in statuses}
    required = {t for t, s in by_type.items() if s["required"]}
    if not required >= REQUIRED_DAEMONS or not all(by_type[t]["healthy"] for t in required):
        return None
    return by_type


def test_the_daemons_heartbeat_on_the_shared_postgres_instance(deployment):
    statuses = deployment.daemon.wait_for("healthy heartbeat of every required daemon", lambda:
                                          _healthy(deployment.graphql(INSTANCE_QUERY)[
                                              "instance"]["daemonHealth"]["allDaemonStatuses"]),
                                          START_DEADLINE_S)
    for daemon_type in REQUIRED_DAEMONS:
        assert statuses[daemon_type]["lastHeartbeatErrors"] == [], statuses[daemon_type]
        assert statuses[daemon_type]["lastHeartbeatTime"] > time.time() - 600

    # Read apart from the webserver: the instance every process was given, on PostgreSQL.
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    dagster_home = deployment.home / "dagster_home"
    for served in (deployment.code_server, deployment.webserver, deployment.daemon):
        assert process_env(served.pid)["DAGSTER_HOME"] == str(dagster_home), served.name
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home)))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        heartbeats = instance.get_daemon_heartbeats()
        assert set(heartbeats) >= REQUIRED_DAEMONS, heartbeats
        assert all(not heartbeats[t].errors for t in REQUIRED_DAEMONS), heartbeats
    finally:
        instance.dispose()
    assert not list(dagster_home.rglob("*.db"))  # no SQLite storage on the way


def test_the_run_queue_holds_the_profiles_limits(deployment):
    instance = deployment.graphql(INSTANCE_QUERY)["instance"]
    assert instance["runQueuingSupported"] is True
    queue = instance["runQueueConfig"]
    assert queue["maxConcurrentRuns"] == 4  # the postgres profile's default
    # One run per source system at a time, several sources in parallel.
    assert yaml.safe_load(queue["tagConcurrencyLimitsYaml"]) == [
        {"key": "ketenbrug/source", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]
    # What the daemon's queue reads: the dagster.yaml under the DAGSTER_HOME it was given.
    written = yaml.safe_load((deployment.home / "dagster_home" / "dagster.yaml").read_text())
    assert written["concurrency"]["runs"]["max_concurrent_runs"] == 4
    assert written["storage"]["postgres"]["postgres_db"]["db_name"] == \
        deployment.env["KETENBRUG_DAGSTER_PG_DBNAME"]


def test_sigterm_stops_each_process_and_leaves_nothing_running(deployment, record_property):
    # Last in the module: stops the deployment as a supervisor does, the daemon first,
    # the code server the webserver and the daemon use last.
    stopped = {}
    for served in (deployment.daemon, deployment.webserver, deployment.code_server):
        code = served.terminate()
        stopped[served.name] = (code, round(served.stopped_in_s or 0, 1))
        # Its children too (the code server's own code server): gone with it.
        deadline = time.monotonic() + STOP_DEADLINE_S
        while group_members(served.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not group_members(served.pid), (served.name, group_members(served.pid))
    record_property("sigterm_exit_code_and_seconds", stopped)
    # Each handles SIGTERM and shuts down cleanly: exit 0, not killed by the signal (-15).
    assert {name: code for name, (code, _) in stopped.items()} == {
        "daemon": 0, "webserver": 0, "code-server": 0}, stopped
