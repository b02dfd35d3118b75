"""Portal sessions, failed-login throttling and the access-event record.

A session is a random token in a `__Host-` cookie (Secure, HttpOnly, SameSite=Strict,
path /); the store keeps only its SHA-256, so a copy of the database logs nobody in. A
session ends after `idle_s` without a request, after ABSOLUTE_S in any case, and at
logout. Each carries its own CSRF token, which every form posts back.

Throttling: after MAX_FAILURES failed logins within FAILURE_WINDOW_S for one login name,
or for one client address, further attempts are refused until the oldest failure ages
out; a refused attempt is not checked at all, so guessing cannot continue behind it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from ketenbrug.portal.rights import Principal, Role
from ketenbrug.portal.store import PortalStore

SESSION_COOKIE = "__Host-ketenbrug-session"
ABSOLUTE_S = 10 * 3600
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str
    started: float


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(store: PortalStore, principal: Principal) -> str:
    """A new session for `principal`; returns the cookie's token."""
    token, now = secrets.token_urlsafe(32), time.time()
    with store.connect() as con:
        con.execute("insert into sessions values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [_hash(token), principal.subject, principal.role.value,
                     principal.organisation, principal.via, secrets.token_urlsafe(32), now, now])
    return token


def resume_session(store: PortalStore, token: str | None, idle_s: float) -> Session | None:
    """The live session of `token`, its idle clock restarted; None when there is none or
    it has expired (an expired one is removed)."""
    if not token:
        return None
    now = time.time()
    with store.connect() as con:
        row = con.execute("select * from sessions where token_hash = ?", [_hash(token)]).fetchone()
        if row is None:
            return None
        if now - row["last_seen"] > idle_s or now - row["created_at"] > ABSOLUTE_S:
            con.execute("delete from sessions where token_hash = ?", [_hash(token)])
            return None
        con.execute("update sessions set last_seen = ? where token_hash = ?",
                    [now, _hash(token)])
        # Sessions long idle are swept now and then, so the table does not grow.
        con.execute("delete from sessions where last_seen < ?", [now - ABSOLUTE_S])
    principal = Principal(row["subject"], Role(row["role"]), row["organisation"], row["via"])
    return Session(principal, row["csrf"], row["created_at"])


def end_session(store: PortalStore, token: str | None) -> None:
    if token:
        with store.connect() as con:
            con.execute("delete from sessions where token_hash = ?", [_hash(token)])


def csrf_matches(session: Session, posted: str | None) -> bool:
    return bool(posted) and hmac.compare_digest(session.csrf, str(posted))


# -- throttling ---------------------------------------------------------------------------------
def throttled_for(store: PortalStore, keys: list[str]) -> int:
    """Seconds until a login may be tried again for any of `keys`; 0: now."""
    now = time.time()
    with store.connect() as con:
        con.execute("delete from login_failures where at < ?", [now - FAILURE_WINDOW_S])
        waits = []
        for key in keys:
            times = [r[0] for r in con.execute(
                "select at from login_failures where key = ? order by at", [key])]
            if len(times) >= MAX_FAILURES:
                waits.append(int(times[-MAX_FAILURES] + FAILURE_WINDOW_S - now) + 1)
    return max(waits, default=0)


def record_failure(store: PortalStore, keys: list[str]) -> None:
    now = time.time()
    with store.connect() as con:
        con.executemany("insert into login_failures values (?, ?)", [(k, now) for k in keys])


def clear_failures(store: PortalStore, keys: list[str]) -> None:
    with store.connect() as con:
        con.executemany("delete from login_failures where key = ?", [(k,) for k in keys])


# -- the access record ------------------------------------------------------------------------
def record_access(store: PortalStore, principal: Principal | None, method: str, path: str,
                  outcome: str, detail: str = "") -> None:
    """One line of who tried what: denials, logins, failed logins, logouts."""
    with store.connect() as con:
        con.execute("insert into access_events values (?, ?, ?, ?, ?, ?, ?, ?)", [
            datetime.now(UTC).isoformat(timespec="seconds"),
            principal.subject if principal else "", principal.role.value if principal else "",
            principal.organisation if principal else "", method, path, outcome, detail])


def access_events(store: PortalStore, limit: int = 200, outcome: str | None = None
                  ) -> list[dict]:
    with store.connect() as con:
        return [dict(r) for r in con.execute(
            "select * from access_events where (? is null or outcome = ?) "
            "order by rowid desc limit ?", [outcome, outcome, limit])]
