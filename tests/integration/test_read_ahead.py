"""A full pull read ahead by a process of its own yields what the hub's own stream would,
fails as it would, and never outlives the hub that started it."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ketenbrug.connectors import CONNECTORS, HttpSettings, SourceError, all_datasets
from ketenbrug.connectors.auth import OAuth2ClientCredentials, Secret
from ketenbrug.connectors.read_ahead import ReadAheadStream
from ketenbrug.simulators import generate_world
from tests.local_http import LocalServer, QuietHandler

ROOT = Path(__file__).resolve().parents[2]
CHUNK = 250  # below a parcel: every chunk boundary differs from the stream's


@pytest.fixture(scope="module")
def world():
    return generate_world(clients=1200, seed=11)


def _connector(server, slug: str):
    return CONNECTORS[slug](HttpSettings(server.base_urls[slug], server.credentials[slug],
                                         max_retries=0, backoff_factor_s=0))


@pytest.mark.parametrize("manifest", all_datasets(), ids=lambda m: m.table)
def test_the_records_pages_and_tally_are_those_of_the_hubs_own_stream(server, manifest):
    here = _connector(server, manifest.source).stream(manifest.name)
    expected = [record for chunk in here.chunks(CHUNK) for record in chunk]
    with ReadAheadStream(_connector(server, manifest.source), manifest.name, None) as ahead:
        chunks = list(ahead.chunks(CHUNK))
    assert [record for chunk in chunks for record in chunk] == expected
    assert all(len(chunk) >= CHUNK for chunk in chunks[:-1])
    assert (ahead.pages, ahead.dropped_fields, ahead.max_updated_at) == (
        here.pages, here.dropped_fields, here.max_updated_at)
    assert here.pages > 1 or manifest.name == "agreements"  # several pages were read ahead


def test_a_failing_source_fails_the_pull_with_the_streams_own_error(server):
    server.set_faults("dji:500x*")
    try:
        with pytest.raises(SourceError) as in_process:
            list(_connector(server, "dji").stream("detentions").chunks(CHUNK))
        with pytest.raises(SourceError) as read_ahead, ReadAheadStream(
                _connector(server, "dji"), "detentions", None) as ahead:
            list(ahead.chunks(CHUNK))
    finally:
        server.set_faults(None)
    assert str(read_ahead.value) == str(in_process.value)
    assert read_ahead.value.reason == in_process.value.reason


class _Hanging(QuietHandler):
    """A source that never answers (within any test's patience)."""

    def do_GET(self) -> None:
        time.sleep(30)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in state  # exited; its new parent has not reaped it yet


def _wait_gone(pid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_closing_stops_a_child_that_is_waiting_on_the_source():
    with LocalServer(_Hanging) as source:
        connector = CONNECTORS["probation"](HttpSettings(source.origin, "c", max_retries=0))
        ahead = ReadAheadStream(connector, "clients", None)
        pid = ahead._child.pid
        started = time.monotonic()
        ahead.close()
        assert time.monotonic() - started < 5
        assert _gone(pid)


def test_a_hub_killed_with_sigkill_leaves_no_read_ahead_process_behind():
    with LocalServer(_Hanging) as source:
        hub = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {str(ROOT)!r})
            from ketenbrug.connectors import CONNECTORS, HttpSettings
            from ketenbrug.connectors.read_ahead import ReadAheadStream
            connector = CONNECTORS["probation"](
                HttpSettings({source.origin!r}, "c", max_retries=0))
            ahead = ReadAheadStream(connector, "clients", None)
            print(ahead._child.pid, flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
        child = int(hub.stdout.readline())
        assert not _gone(child)
        os.kill(hub.pid, signal.SIGKILL)
        hub.wait()
        assert _wait_gone(child), f"read-ahead process {child} outlived the hub"


def test_oauth2_credentials_reach_the_child_without_the_hubs_token():
    auth = OAuth2ClientCredentials("probation", "https://idp.example/token", "hub",
                                   Secret("s3cret"))
    auth._token, auth._expires_at = "a-live-token", time.monotonic() + 3600
    copy = pickle.loads(pickle.dumps(auth))
    assert copy._token is None and copy._expires_at == 0.0
    assert (copy.token_url, copy.client_id, copy._secret) == (
        auth.token_url, auth.client_id, auth._secret)
    with copy._lock:  # a lock of its own, usable
        pass
    assert auth._token == "a-live-token"  # the original keeps its own
