"""The embedded profile's Dagster event log: Dagster's SQLite storage, but a batch of events
is written in one transaction per database file instead of one per event, and each file's
connection is kept open between events.

Creating a run, Dagster reports an event per asset it plans to materialize and per asset
check it plans to evaluate — ~260 for the hub job, 219 of them dbt tests — and a
partitioned materialization an event per partition (the billing months). It hands them to
the storage as batches (`store_event_batch`) when DAGSTER_EVENT_BATCH_SIZE is set
(`Settings.export`). dagster-postgres writes a batch of materializations at once; Dagster's
SQLite storage stores a batch event by event, each on an engine, connection and commit of
its own: ~7 ms an event, ~2 s before every hub run could start, whether or not anything
changed. Here each event is still stored by Dagster's own `store_event` — same rows, same
index — but within a batch they share one connection per shard (the run's file, the
index), committed together at its end. A batch that fails is rolled back in every shard,
and Dagster then stores its events one by one (`handle_new_event`), as without batching.

Every other event (a step's start, output, materialization, check result) still comes one
at a time and is committed at once, so the UI and other processes see it as it happens.
What Dagster adds to each is a new engine (its SQL compiled anew), a new connection and, on
closing it, SQLite's checkpoint of the write-ahead log: ~4 ms of a materialization's ~6.
Here an engine per file keeps one connection open; a wipe, which deletes the run files,
closes them first.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

# Shards whose engine (and one idle connection) is kept: the index's and those of the runs
# being written or read. A webserver reads many runs; keeping every one would only grow.
ENGINES_KEPT = 16


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage whose `store_event_batch` is one transaction per shard."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # Both before Dagster's set-up, which connects.
        self._batch = threading.local()
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._inherited: list[Engine] = []  # see _engine
        super().__init__(base_dir, inst_data)
        # A batch holds the connections of the shards it has opened while it opens the next
        # (same thread, so reentrant); other threads wait for the batch, as for one event.
        self._db_lock = threading.RLock()  # type: ignore[assignment]

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None,
                          config_value: Mapping[str, Any]) -> BatchingSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        with ExitStack() as shards:  # on leaving: every shard committed, or rolled back
            self._batch.open, self._batch.connections = shards, {}
            try:
                for event in events:
                    self.store_event(event)
            finally:
                self._batch.connections = None

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        connections = getattr(self._batch, "connections", None)
        if connections is None:  # not in a batch: a transaction and commit of its own
            with self._transaction(shard) as conn:
                yield conn
            return
        if shard not in connections:
            connections[shard] = self._batch.open.enter_context(self._transaction(shard))
        yield connections[shard]

    @contextmanager
    def _transaction(self, shard: str) -> Iterator[Connection]:
        """Dagster's own `_connect`, on an engine kept per shard instead of one per call."""
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _engine(self, shard: str) -> Engine:
        """The shard's engine, which keeps one connection open between uses (Dagster makes
        an engine, a connection and SQLite's checkpoint on close for every call: ~4 ms of
        each event). The least recently used beyond `ENGINES_KEPT` is closed."""
        if self._engines_pid != os.getpid():
            # Forked: the parent's connections are its own. Kept, not closed: SQLite must not
            # close a connection in a child either.
            self._inherited.extend(self._engines.values())
            self._engines, self._engines_pid = OrderedDict(), os.getpid()
        engine = self._engines.pop(shard, None) or create_engine(
            self.conn_string_for_shard(shard), pool_size=1, max_overflow=4,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        self._engines[shard] = engine
        while len(self._engines) > ENGINES_KEPT:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def has_table(self, table_name: str) -> bool:
        """Dagster asks this before storing each check result and materialization, on a new
        engine of its own each time; here on the index's kept one."""
        with self._db_lock:
            engine = self._engine(INDEX_SHARD_NAME)
            with engine.connect() as conn:
                return bool(engine.dialect.has_table(conn, table_name))

    def _close_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_engines()  # Dagster deletes the run files: no connection may outlive them
        super().wipe()

    def dispose(self) -> None:
        self._close_engines()
        super().dispose()
