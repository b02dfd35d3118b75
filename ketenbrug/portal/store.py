"""The portal's own records, in one SQLite file under the hub's home (owner-only).

Local accounts, sessions, failed logins (for throttling), access denials, receipts a
municipality acknowledged and subject-access requests. Nothing here holds a client's
personal data: a subject-access request keeps the requester's reference and a keyed
hash of the BSN (to match a repeat request), never the BSN itself.

SQLite in WAL mode, one short connection per operation: uvicorn's worker threads (and a
second portal process) each open their own; writers wait for each other up to 5 s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ketenbrug.privacy.file_modes import private_dir, require_private

SCHEMA = """
create table if not exists users (
    login text primary key, role text not null, organisation text not null,
    password_hash text not null, created_at text not null, disabled integer not null default 0);
create table if not exists sessions (
    token_hash text primary key, subject text not null, role text not null,
    organisation text not null, via text not null, csrf text not null,
    created_at real not null, last_seen real not null);
create table if not exists login_failures (
    key text not null, at real not null);
create index if not exists login_failures_key on login_failures (key, at);
create table if not exists access_events (
    at text not null, subject text not null, role text not null, organisation text not null,
    method text not null, path text not null, outcome text not null, detail text not null);
create table if not exists receipts (
    organisation text not null, package text not null, sha256 text not null,
    acknowledged_by text not null, acknowledged_at text not null,
    primary key (organisation, package, sha256));
create table if not exists subject_access_requests (
    id integer primary key autoincrement, reference text not null, bsn_hash text not null,
    requested_by text not null, requested_at text not null, status text not null,
    handled_by text, handled_at text, report_sha256 text);
"""


class PortalStore:
    def __init__(self, home: Path):
        self.path = home / "portal" / "portal.sqlite"
        private_dir(self.path.parent, tighten_existing=True)
        if not self.path.exists():
            self.path.touch(mode=0o600)
        require_private(self.path, what="portal database")
        con = sqlite3.connect(self.path, timeout=5.0)
        try:
            con.execute("pragma journal_mode=wal")
            con.executescript(SCHEMA)  # commits on its own
        finally:
            con.close()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            con.execute("begin immediate")
            yield con
            con.execute("commit")
        except BaseException:
            if con.in_transaction:
                con.execute("rollback")
            raise
        finally:
            con.close()
