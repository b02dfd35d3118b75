"""The disclosure log in PostgreSQL (postgres profile): one chain for every writer.

The same guarantees as the log file (tests/unit/test_disclosure_log.py), where they
break on a server: two processes appending at once, a writer killed while it holds the
lock, a statement that rewrites or empties the table, and an insider who gets past the
append-only guard and rewrites a line — which the signed checkpoints then show.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time

import psycopg2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ketenbrug.privacy.checkpoints import checkpoint_log
from ketenbrug.privacy.disclosure_log import (
    append_entry,
    entry_hash,
    locked_log,
    log_head,
    read_log,
    verify_log,
)
from ketenbrug.privacy.log_audit import verify_audit
from ketenbrug.privacy.log_tables import PostgresLines
from tests.postgres import scratch_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def log():
    with scratch_database() as target:
        yield PostgresLines(target)


def _sql(log: PostgresLines, statement: str) -> None:
    con = psycopg2.connect(**log.target.connect_kwargs())
    con.autocommit = True
    try:
        with con.cursor() as cursor:
            cursor.execute(statement)
    finally:
        con.close()


def test_entries_chain_read_back_and_verify_as_the_file_does(log):
    assert not log.exists() and read_log(log) == [] and log_head(log)["seq"] == 0
    written = [append_entry(log, {"event": "delivery", "recipient": f"municipality:GM{n:04}",
                                  "persons": n}) for n in range(1, 6)]
    assert log.exists()
    assert read_log(log) == written
    assert [e["seq"] for e in written] == [1, 2, 3, 4, 5]
    assert log_head(log) == {"seq": 5, "hash": written[-1]["hash"]}
    assert verify_log(log) == []


@pytest.mark.parametrize("statement", [
    "update audit.disclosure_log set line = replace(line, 'GM0001', 'GM0002')",
    "delete from audit.disclosure_log where line_no = 1",
    "truncate audit.disclosure_log",
    "delete from audit.disclosure_checkpoints",
])
def test_the_tables_refuse_a_rewrite_or_an_emptying(log, statement):
    append_entry(log, {"event": "delivery", "recipient": "municipality:GM0001"})
    checkpoint_log(log, Ed25519PrivateKey.generate())
    with pytest.raises(psycopg2.Error, match="append-only"):
        _sql(log, statement)
    assert verify_log(log) == [] and len(read_log(log)) == 2


def _append_many(dbname_kwargs: dict, writer: int, count: int) -> None:
    from ketenbrug.databases import PostgresTarget

    target = PostgresTarget(**dbname_kwargs)
    for n in range(count):
        append_entry(PostgresLines(target), {"event": "read", "writer": writer, "n": n})


def test_two_processes_appending_at_once_keep_one_chain(log):
    target = log.target
    kwargs = {"host": target.host, "port": target.port, "dbname": target.dbname,
              "user": target.user, "password": target.password}
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_append_many, args=(kwargs, w, 40)) for w in (1, 2)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(120)
        assert process.exitcode == 0
    entries = read_log(log)
    assert [e["seq"] for e in entries] == list(range(1, 81))
    assert sorted((e["writer"], e["n"]) for e in entries) == [
        (w, n) for w in (1, 2) for n in range(40)]
    assert verify_log(log) == []


def _hold_the_lock_for_ever(dbname_kwargs: dict, ready) -> None:
    from ketenbrug.databases import PostgresTarget

    with locked_log(PostgresLines(PostgresTarget(**dbname_kwargs))):
        ready.set()
        time.sleep(600)


def test_a_writer_killed_while_holding_the_lock_does_not_block_the_next(log):
    append_entry(log, {"event": "read"})
    target = log.target
    kwargs = {"host": target.host, "port": target.port, "dbname": target.dbname,
              "user": target.user, "password": target.password}
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_the_lock_for_ever, args=(kwargs, ready))
    holder.start()
    assert ready.wait(60), "the holder never took the lock"
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(10)
    # The server ends the dead writer's session, and with it the advisory lock.
    deadline = time.monotonic() + 30
    outcome: list[dict] = []

    def append() -> None:
        outcome.append(append_entry(log, {"event": "read", "after": "kill"}))

    thread = threading.Thread(target=append, daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    assert outcome, "the next writer still waits for the killed writer's lock"
    assert outcome[0]["seq"] == 2 and verify_log(log) == []


def test_an_insider_past_the_guard_who_rewrites_a_line_is_caught_by_the_checkpoints(log):
    key = Ed25519PrivateKey.generate()
    for n in range(3):
        append_entry(log, {"event": "delivery", "recipient": "municipality:GM0014", "n": n})
    checkpoint_log(log, key)
    assert verify_audit(log, key.public_key()).intact
    # The warehouse role owns the table: it can disable the guard, rewrite line 2 and
    # recompute the whole chain after it. The signed checkpoint of the old head shows it.
    entries = read_log(log)
    forged = [dict(e) for e in entries]
    forged[1]["recipient"] = "municipality:GM0363"
    prev = forged[0]["hash"]
    for entry in forged[1:3]:
        entry["prev_hash"] = prev
        entry["hash"] = prev = entry_hash(entry)
    _sql(log, "alter table audit.disclosure_log disable trigger disclosure_log_append_only")
    for line_no, entry in ((2, forged[1]), (3, forged[2])):
        text = json.dumps(entry, sort_keys=True).replace("'", "''")
        _sql(log, f"update audit.disclosure_log set line = '{text}' where line_no = {line_no}")
    verdict = verify_audit(log, key.public_key())
    assert not verdict.intact
    assert any("rewritten" in problem.what for problem in verdict.problems), verdict.problems
