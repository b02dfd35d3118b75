"""The embedded profile's Dagster event log: Dagster's SQLite storage, but a batch of events
is written in one transaction per database file instead of one per event.

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
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage whose `store_event_batch` is one transaction per shard."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._batch = threading.local()  # before Dagster's set-up, which connects
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
        if connections is None:  # not in a batch: a connection and commit of its own
            with super()._connect(shard) as conn:
                yield conn
            return
        if shard not in connections:
            connections[shard] = self._batch.open.enter_context(super()._connect(shard))
        yield connections[shard]
