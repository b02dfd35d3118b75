"""Local accounts for the demo and the tests (`ketenbrug users add`): argon2id hashes.

Production logs people in through the organisations' identity providers (oidc.py); a
local account carries the same role and organisation a provider's claims would.
"""

from __future__ import annotations

from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ketenbrug.portal.rights import Principal, Role, require_organisation
from ketenbrug.portal.store import PortalStore

# argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id, 64 MiB).
_HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
# Verified against when the login is unknown, so an unknown login takes as long to refuse
# as a wrong password (no probing for account names by timing).
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class AccountError(ValueError):
    """An account that cannot be made as asked; the message says why."""


def add_user(store: PortalStore, login: str, role: Role, organisation: str,
             password: str) -> None:
    if not login or not login.isprintable() or " " in login:
        raise AccountError("a login is one word of printable characters")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    try:
        require_organisation(role, organisation)
    except ValueError as bad:
        raise AccountError(str(bad)) from None
    with store.connect() as con:
        if con.execute("select 1 from users where login = ?", [login]).fetchone():
            raise AccountError(f"{login} exists already (remove it first)")
        con.execute("insert into users values (?, ?, ?, ?, ?, 0)",
                    [login, role.value, organisation, _HASHER.hash(password),
                     datetime.now(UTC).isoformat(timespec="seconds")])


def remove_user(store: PortalStore, login: str) -> bool:
    with store.connect() as con:
        removed = con.execute("delete from users where login = ?", [login]).rowcount
        con.execute("delete from sessions where subject = ? and via = 'portal-local'", [login])
    return bool(removed)


def list_users(store: PortalStore) -> list[dict]:
    with store.connect() as con:
        return [dict(r) for r in con.execute(
            "select login, role, organisation, created_at from users order by login")]


def authenticate(store: PortalStore, login: str, password: str) -> Principal | None:
    """The principal of a local account whose password this is; None otherwise."""
    with store.connect() as con:
        row = con.execute("select * from users where login = ? and disabled = 0",
                          [login]).fetchone()
    try:
        _HASHER.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    return Principal(row["login"], Role(row["role"]), row["organisation"], "portal-local")
