"""`ketenbrug db setup`: the PostgreSQL roles and databases of the postgres profile.

Three databases on one server: the warehouse's and Dagster's, owned by the warehouse
role, and the identity vault's, owned by a role of its own. PostgreSQL lets PUBLIC (every
role) connect to and make temporary tables in any new database, so owning a database
separates nothing: setup revokes PUBLIC's privileges on all three, and any the other hub
role was granted, so the warehouse role cannot connect to the vault's database and the
vault role not to the warehouse's or Dagster's. A hub role that is a superuser, or a
member of the other (it would act with the other's privileges), is refused: no grant
could separate them.

Idempotent: each step looks first and acts only where the server differs from the plan,
and the list returned says what it did (empty when all was in place). Identifiers must be
plain lowercase names and are quoted by psycopg2.sql all the same; a password is sent
as the verifier libpq computes from it (`encrypt_password`, SCRAM-SHA-256 on this
server), never as clear text in a statement a server log could keep, and is never
printed. A password already in place (its verifier checked here) is not set again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

from ketenbrug.databases import DatabaseUnavailable, PostgresTarget, open_postgres

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class SetupError(Exception):
    """The plan is unsafe or invalid, or the server refused a step; says which."""


def setup_databases(admin: PostgresTarget, warehouse: PostgresTarget,
                    vault: PostgresTarget, dagster_dbname: str) -> list[str]:
    """Create or correct the roles, databases and database privileges; say what changed.

    `admin` is a role that may create roles and databases (the server's superuser);
    `warehouse` and `vault` name each database and the role that reaches it.
    """
    _check_plan(admin, warehouse, vault, dagster_dbname)
    roles = {warehouse.user: warehouse.password, vault.user: vault.password}
    databases = {warehouse.dbname: warehouse.user, dagster_dbname: warehouse.user,
                 vault.dbname: vault.user}
    # Who must not reach each database besides PUBLIC: the other hub role.
    kept_out = {warehouse.dbname: vault.user, dagster_dbname: vault.user,
                vault.dbname: warehouse.user}
    import psycopg2  # type: ignore[import-untyped]

    try:
        with open_postgres(admin) as con:
            cursor = con.raw.cursor()
            _refuse_unseparable_roles(cursor, warehouse.user, vault.user)
            done = [line for user, password in roles.items()
                    for line in _ensure_role(cursor, user, password)]
            for dbname, owner in databases.items():
                done += _ensure_database(cursor, dbname, owner)
                done += _revoke_strangers(cursor, dbname, kept_out[dbname])
            return done
    except DatabaseUnavailable as error:
        raise SetupError(f"cannot reach the server as admin: {error}") from None
    except psycopg2.Error as error:
        reason = (error.pgerror or str(error)).strip().splitlines()[0]
        raise SetupError(f"the server refused a step: {reason}") from None


def _check_plan(admin: PostgresTarget, warehouse: PostgresTarget, vault: PostgresTarget,
                dagster_dbname: str) -> None:
    names = {"warehouse role": warehouse.user, "vault role": vault.user,
             "warehouse database": warehouse.dbname, "vault database": vault.dbname,
             "Dagster database": dagster_dbname}
    for what, name in names.items():
        if not _NAME.fullmatch(name):
            raise SetupError(f"{what} {name!r} is not a plain lowercase name "
                             "(a-z, 0-9, _; at most 63 characters)")
    for role in (warehouse.user, vault.user):
        if role.startswith("pg_"):
            raise SetupError(f"role {role!r}: names starting with pg_ are PostgreSQL's own")
    if warehouse.user == vault.user:
        raise SetupError(f"the warehouse and the vault need roles of their own, "
                         f"not both {vault.user!r}")
    if len({warehouse.dbname, vault.dbname, dagster_dbname}) < 3:
        raise SetupError("the warehouse, vault and Dagster databases need three names, got "
                         f"{warehouse.dbname!r}, {vault.dbname!r}, {dagster_dbname!r}")
    for target in (warehouse, vault):
        if (target.host, target.port) != (admin.host, admin.port):
            raise SetupError(f"{target} is on another server than the admin connection "
                             f"({admin.host}:{admin.port}); set it up there")


def _refuse_unseparable_roles(cursor: Any, warehouse_role: str, vault_role: str) -> None:
    cursor.execute("select rolname from pg_roles where rolname in (%s, %s) and rolsuper",
                   [warehouse_role, vault_role])
    for (role,) in cursor.fetchall():
        raise SetupError(f"role {role!r} is a superuser and can read every database: "
                         "give the hub ordinary roles")
    cursor.execute("select a.rolname, b.rolname from pg_roles a, pg_roles b "
                   "where (a.rolname, b.rolname) in ((%s, %s), (%s, %s)) "
                   "and pg_has_role(a.oid, b.oid, 'MEMBER')",
                   [warehouse_role, vault_role, vault_role, warehouse_role])
    for member, role in cursor.fetchall():
        raise SetupError(f"role {member!r} is a member of role {role!r} and would act with "
                         "its privileges: revoke the membership first")


def _ensure_role(cursor: Any, user: str, password: str) -> list[str]:
    from psycopg2 import sql
    from psycopg2.extensions import encrypt_password  # type: ignore[import-untyped]

    role = sql.Identifier(user)
    done = []
    cursor.execute("select rolcanlogin from pg_roles where rolname = %s", [user])
    row = cursor.fetchone()
    if row is None:
        cursor.execute(sql.SQL("create role {} login").format(role))
        done.append(f"created role {user} (login)")
    elif not row[0]:
        cursor.execute(sql.SQL("alter role {} login").format(role))
        done.append(f"allowed role {user} to log in")
    if password and not _password_in_place(cursor, user, password):
        verifier = encrypt_password(password, user, cursor.connection)
        cursor.execute(sql.SQL("alter role {} password {}").format(
            role, sql.Literal(verifier)))
        done.append(f"set the password of role {user}")
    return done


def _password_in_place(cursor: Any, user: str, password: str) -> bool:
    """Whether `user`'s stored verifier is `password`'s. Only a superuser may read the
    verifiers (pg_authid); any other admin sets the password every time."""
    cursor.execute("select rolsuper from pg_roles where rolname = current_user")
    row = cursor.fetchone()
    if row is None or not row[0]:
        return False
    cursor.execute("select rolpassword from pg_authid where rolname = %s", [user])
    row = cursor.fetchone()
    return row is not None and row[0] is not None and verifies(row[0], user, password)


def verifies(stored: str, user: str, password: str) -> bool:
    """Whether PostgreSQL's stored verifier `stored` (SCRAM-SHA-256 or md5) is
    `password`'s. An unknown form (or a non-ASCII password SASLprep would map) reads as
    not in place: the password is set again, which does no harm."""
    if stored.startswith("SCRAM-SHA-256$"):
        match = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", stored)
        if match is None:
            return False
        iterations, salt, stored_key = int(match[1]), match[2], match[3]
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt),
                                     iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        return hmac.compare_digest(base64.b64decode(stored_key),
                                   hashlib.sha256(client_key).digest())
    if stored.startswith("md5"):
        expected = "md5" + hashlib.md5((password + user).encode()).hexdigest()
        return hmac.compare_digest(stored, expected)
    return False


def _ensure_database(cursor: Any, dbname: str, owner: str) -> list[str]:
    from psycopg2 import sql

    cursor.execute("select pg_get_userbyid(datdba) from pg_database where datname = %s",
                   [dbname])
    row = cursor.fetchone()
    if row is None:
        # CREATE DATABASE cannot run in a transaction: the admin connection autocommits.
        cursor.execute(sql.SQL("create database {} owner {}").format(
            sql.Identifier(dbname), sql.Identifier(owner)))
        return [f"created database {dbname} owned by {owner}"]
    if row[0] != owner:
        cursor.execute(sql.SQL("alter database {} owner to {}").format(
            sql.Identifier(dbname), sql.Identifier(owner)))
        return [f"gave database {dbname} to role {owner} (was {row[0]})"]
    return []


def _revoke_strangers(cursor: Any, dbname: str, other_role: str) -> list[str]:
    """Revoke PUBLIC's privileges on `dbname` (by default CONNECT and TEMPORARY) and any
    `other_role` was granted."""
    from psycopg2 import sql

    # A database whose ACL was never changed has none stored: its default applies.
    cursor.execute(
        "select distinct acl.grantee = 0, grantee_role.rolname from pg_database d "
        "cross join lateral aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) acl "
        "left join pg_roles grantee_role on grantee_role.oid = acl.grantee "
        "where d.datname = %s and (acl.grantee = 0 or grantee_role.rolname = %s) "
        "order by 1 desc", [dbname, other_role])
    done = []
    for is_public, role in cursor.fetchall():
        who = sql.SQL("public") if is_public else sql.Identifier(role)
        cursor.execute(sql.SQL("revoke all on database {} from {}").format(
            sql.Identifier(dbname), who))
        whose = "PUBLIC's" if is_public else f"role {role}'s"
        done.append(f"revoked {whose} privileges on database {dbname}")
    return done
