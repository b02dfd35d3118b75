"""A pull read ahead by a process of its own, so that a second core works on it.

Landing is bound by Python: fetching, parsing and allowlisting pages is about half of
it, the boundary and the writes the other half, and on the embedded profile one step runs
at a time. `ReadAheadStream` runs the connector's `Stream` in a child process, which goes
on fetching the next pages while the hub splits and lands the chunk before; it yields
the same chunks and keeps the same tally as `Stream`.

The child is `python -m ketenbrug.connectors.read_ahead`, not a multiprocessing start
method: it imports the connectors only (not the hub's `__main__`, not Dagster), and
leaves the process's forkserver to Dagster's executor. The job (connector class,
settings with the credential, dataset, cursor) goes over its stdin, never its command
line; records come back on its stdout as length-prefixed pickles, between two processes
of the same user on this machine. When the hub closes the stream or dies (kill -9
included), the child's stdin reaches end of file and it exits at once.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ketenbrug.connectors.allowlist import Allowed
from ketenbrug.connectors.base import SourceConnector, in_chunks
from ketenbrug.connectors.body import SourceError

PARCEL_RECORDS = 1_000  # records per message: few messages, and the hub never waits long
AHEAD_PARCELS = 64  # how far the child may run ahead: about one landing chunk
_LENGTH = struct.Struct("!Q")


class ReadAheadStream:
    """`connector.stream(dataset, since)`, read by a child process; close it when done."""

    def __init__(self, connector: SourceConnector, dataset: str, since: str | None):
        self.manifest = connector.manifest[dataset]
        self.pages = 0
        self.dropped_fields: Counter = Counter()
        self.max_updated_at: str | None = None
        self._name = f"{connector.source}.{dataset}"
        self._child = subprocess.Popen(
            [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=_child_environment())
        assert self._child.stdin is not None and self._child.stdout is not None
        self._from_child: IO[bytes] = self._child.stdout
        pickle.dump((type(connector), connector.settings, dataset, since), self._child.stdin)
        self._child.stdin.flush()  # kept open: its end of file tells the child to stop

    def chunks(self, size: int) -> Iterator[list[tuple[Allowed, dict]]]:
        """As `Stream.chunks`: lists of at least `size` records; one pass."""
        return in_chunks(self._parcels(), size)

    def _parcels(self) -> Iterator[list[tuple[Allowed, dict]]]:
        while True:
            kind, content = self._receive()
            if kind == "records":
                yield [(Allowed(identity, fields, missing), raw)
                       for identity, fields, missing, raw in content]
            elif kind == "end":
                self.pages, dropped, self.max_updated_at = content
                self.dropped_fields.update(dropped)
                return
            else:
                raise content

    def _receive(self) -> tuple[str, Any]:
        header = self._from_child.read(_LENGTH.size)
        if len(header) == _LENGTH.size and (body := self._from_child.read(
                _LENGTH.unpack(header)[0])):
            return pickle.loads(body)
        code = self._child.wait()
        raise SourceError(f"{self._name}: the read-ahead process ended (exit code {code}) "
                          "before the pull was complete; its error is in the run's log")

    def close(self) -> None:
        """Stop the child (if still reading) and wait for it."""
        assert self._child.stdin is not None
        self._child.stdin.close()
        try:
            self._child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        self._from_child.close()

    def __enter__(self) -> ReadAheadStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _child_environment() -> dict[str, str]:
    """This process's environment, with the folder holding `ketenbrug` first on the path
    (a test or a checkout may have put it on sys.path only)."""
    root = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([root, path]) if path else root}


# -- the child ---------------------------------------------------------------------------
def _read_ahead() -> None:
    job = pickle.load(sys.stdin.buffer)
    to_hub = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print never corrupts the records
    threading.Thread(target=_exit_at_end_of_input, daemon=True).start()
    outbox: queue.Queue = queue.Queue(maxsize=AHEAD_PARCELS)
    connector_type, settings, dataset, since = job
    writer = threading.Thread(target=_send_all,
                              args=(outbox, to_hub, f"{connector_type.source}.{dataset}"))
    writer.start()
    connector = connector_type(settings)
    try:
        stream = connector.stream(dataset, since)
        parcel: list[tuple] = []
        for page in stream.allowed_pages():
            parcel += [(a.identity, a.fields, a.missing, raw) for a, raw in page]
            if len(parcel) >= PARCEL_RECORDS:
                outbox.put(("records", parcel))
                parcel = []
        if parcel:
            outbox.put(("records", parcel))
        outbox.put(("end", (stream.pages, dict(stream.dropped_fields), stream.max_updated_at)))
    except Exception as exc:  # the hub raises it as if it had been raised there
        outbox.put(("error", exc))
    finally:
        connector.close()
        outbox.put(None)
        writer.join()
        os._exit(0)  # not a normal shutdown: the thread waiting on stdin holds its lock


def _send_all(outbox: queue.Queue, to_hub: IO[bytes], name: str) -> None:
    while (message := outbox.get()) is not None:
        try:
            body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
            if message[0] == "error":
                pickle.loads(body)  # an exception the hub could not rebuild is named instead
        except Exception:
            body = pickle.dumps(("error", SourceError(
                f"{name}: the read-ahead process failed with {type(message[1]).__name__}, "
                "which it cannot pass on; its error is in the run's log")))
        try:
            to_hub.write(_LENGTH.pack(len(body)) + body)
            to_hub.flush()
        except BrokenPipeError:  # the hub is gone
            os._exit(0)


def _exit_at_end_of_input() -> None:
    """The hub closed the stream, or died: stop now, whatever the pull is doing."""
    sys.stdin.buffer.read()
    os._exit(0)


if __name__ == "__main__":
    _read_ahead()
