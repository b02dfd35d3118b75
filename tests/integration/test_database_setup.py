"""`ketenbrug db setup`: the vault's database is out of the warehouse role's reach.

Each test plans roles and databases with names of its own (a uuid suffix) on the local
server and drops them afterwards. The server trusts every local connection, so passwords
are not what keeps a role out: the CONNECT privilege is, and that is what is tested, from
the side of the role that must be kept out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

import psycopg2
import pytest
from click.testing import CliRunner

from ketenbrug.cli.database import db
from ketenbrug.databases import PostgresTarget
from ketenbrug.privacy import IdentityRecord, IdentityVault, KeyStore
from ketenbrug.stewardship.database_setup import SetupError, setup_databases, verifies
from tests.postgres import ADMIN, admin_connection

pytestmark = pytest.mark.postgres


@dataclass(frozen=True)
class Plan:
    warehouse: PostgresTarget
    vault: PostgresTarget
    dagster_dbname: str
    stranger: str  # a LOGIN role the plan knows nothing of

    def setup(self) -> list[str]:
        return setup_databases(ADMIN, self.warehouse, self.vault, self.dagster_dbname)


@pytest.fixture
def plan():
    suffix = uuid.uuid4().hex[:10]
    admin = admin_connection()  # skips without a server (fails under CI=true)

    def target(kind: str) -> PostgresTarget:
        return PostgresTarget(host=ADMIN.host, port=ADMIN.port, dbname=f"kb_{kind}_{suffix}",
                              user=f"kb_{kind}_user_{suffix}", password=f"{kind}-secret-{suffix}")

    made = Plan(warehouse=target("wh"), vault=target("vault"),
                dagster_dbname=f"kb_dagster_{suffix}", stranger=f"kb_stranger_{suffix}")
    with admin.cursor() as cursor:
        cursor.execute(f"create role {made.stranger} login")
    try:
        yield made
    finally:
        with admin.cursor() as cursor:
            for dbname in (made.warehouse.dbname, made.vault.dbname, made.dagster_dbname):
                cursor.execute(f"drop database if exists {dbname} with (force)")
            for role in (made.warehouse.user, made.vault.user, made.stranger):
                cursor.execute(f"drop role if exists {role}")
        admin.close()


def _connect(user: str, dbname: str):
    return psycopg2.connect(host=ADMIN.host, port=ADMIN.port, dbname=dbname, user=user,
                            connect_timeout=3)


def _refused(user: str, dbname: str) -> None:
    with pytest.raises(psycopg2.OperationalError, match="permission denied for database"):
        _connect(user, dbname).close()


def _state(plan: Plan) -> list[tuple]:
    """Owners and privileges of the plan's databases, as the server keeps them."""
    with admin_connection() as con, con.cursor() as cursor:
        cursor.execute("select datname, pg_get_userbyid(datdba), datacl::text from pg_database "
                       "where datname in (%s, %s, %s) order by 1",
                       [plan.warehouse.dbname, plan.vault.dbname, plan.dagster_dbname])
        return cursor.fetchall()


def _can_create_a_table(user: str, dbname: str) -> None:
    con = _connect(user, dbname)
    try:
        with con, con.cursor() as cursor:
            cursor.execute("create table hub_probe (id integer)")
            cursor.execute("insert into hub_probe values (1)")
            cursor.execute("select count(*) from hub_probe")
            assert cursor.fetchone() == (1,)
    finally:
        con.close()


def test_setup_creates_the_roles_and_databases_each_owned_by_its_role(plan):
    done = plan.setup()
    wh, vault = plan.warehouse, plan.vault
    assert done == [
        f"created role {wh.user} (login)", f"set the password of role {wh.user}",
        f"created role {vault.user} (login)", f"set the password of role {vault.user}",
        f"created database {wh.dbname} owned by {wh.user}",
        f"revoked PUBLIC's privileges on database {wh.dbname}",
        f"created database {plan.dagster_dbname} owned by {wh.user}",
        f"revoked PUBLIC's privileges on database {plan.dagster_dbname}",
        f"created database {vault.dbname} owned by {vault.user}",
        f"revoked PUBLIC's privileges on database {vault.dbname}"]
    assert [(name, owner) for name, owner, _ in _state(plan)] == sorted([
        (wh.dbname, wh.user), (plan.dagster_dbname, wh.user), (vault.dbname, vault.user)])


def test_the_warehouse_role_cannot_connect_to_the_vault_nor_the_vault_role_to_the_warehouse(
        plan):
    plan.setup()
    _refused(plan.warehouse.user, plan.vault.dbname)
    _refused(plan.vault.user, plan.warehouse.dbname)
    _refused(plan.vault.user, plan.dagster_dbname)


def test_a_role_outside_the_plan_can_connect_to_none_of_them(plan):
    # Without the revoke from PUBLIC any role could connect: the stranger can still reach
    # the server's own database, so the refusals below are the setup's doing.
    plan.setup()
    _connect(plan.stranger, "postgres").close()
    for dbname in (plan.warehouse.dbname, plan.vault.dbname, plan.dagster_dbname):
        _refused(plan.stranger, dbname)


def test_each_role_can_create_tables_in_its_own_databases(plan):
    plan.setup()
    _can_create_a_table(plan.warehouse.user, plan.warehouse.dbname)
    _can_create_a_table(plan.warehouse.user, plan.dagster_dbname)
    _can_create_a_table(plan.vault.user, plan.vault.dbname)


def test_a_second_run_changes_nothing(plan):
    plan.setup()
    before = _state(plan)
    assert plan.setup() == []
    assert _state(plan) == before
    _refused(plan.warehouse.user, plan.vault.dbname)


def test_passwords_are_stored_as_verifiers_and_a_changed_one_is_set_again(plan):
    plan.setup()
    with admin_connection() as con, con.cursor() as cursor:
        cursor.execute("select rolpassword from pg_authid where rolname = %s",
                       [plan.vault.user])
        (stored,) = cursor.fetchone()
    assert stored.startswith("SCRAM-SHA-256$") and plan.vault.password not in stored
    assert verifies(stored, plan.vault.user, plan.vault.password)
    assert not verifies(stored, plan.vault.user, plan.vault.password + "x")
    changed = replace(plan.vault, password="another-secret")
    assert setup_databases(ADMIN, plan.warehouse, changed, plan.dagster_dbname) == [
        f"set the password of role {plan.vault.user}"]


def test_the_vault_written_as_its_role_stays_out_of_the_warehouse_roles_reach(plan, tmp_path):
    plan.setup()
    keys = KeyStore(tmp_path / "keys")
    keys.init()
    IdentityVault(plan.vault, keys).store(
        [IdentityRecord("p1", "probation", {"bsn": "111222333", "surname": "Jansen"})])
    # A superuser lets the warehouse role in by mistake: the vault's tables still refuse it.
    with admin_connection() as con, con.cursor() as cursor:
        cursor.execute(f"grant connect on database {plan.vault.dbname} "
                       f"to {plan.warehouse.user}")
    intruder = _connect(plan.warehouse.user, plan.vault.dbname)
    intruder.autocommit = True
    try:
        with intruder.cursor() as cursor:
            for statement, refusal in (
                    ("select * from vault.identity_fields", "permission denied for schema"),
                    ("select * from vault.key_checks", "permission denied for schema"),
                    (f"set role {plan.vault.user}", "permission denied to set role")):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege, match=refusal):
                    cursor.execute(statement)
            cursor.execute("select count(*) from information_schema.tables "
                           "where table_schema = 'vault'")
            assert cursor.fetchone() == (0,)  # not even their names
    finally:
        intruder.close()
    # The next setup takes the stray grant back.
    assert plan.setup() == [f"revoked role {plan.warehouse.user}'s privileges on database "
                            f"{plan.vault.dbname}"]
    _refused(plan.warehouse.user, plan.vault.dbname)
    # The vault's own role still reads it.
    assert IdentityVault(plan.vault, keys).fetch(["p1"], ["surname"]) == {
        "p1": {"surname": "Jansen"}}


def test_a_superuser_as_hub_role_is_refused_before_anything_is_made(plan):
    as_superuser = replace(plan.warehouse, user=ADMIN.user)
    with pytest.raises(SetupError, match="is a superuser"):
        setup_databases(ADMIN, as_superuser, plan.vault, plan.dagster_dbname)
    assert _state(plan) == []


def test_roles_that_are_members_of_each_other_are_refused(plan):
    plan.setup()
    with admin_connection() as con, con.cursor() as cursor:
        cursor.execute(f"grant {plan.vault.user} to {plan.warehouse.user}")
    with pytest.raises(SetupError, match=f"{plan.warehouse.user}' is a member of role"):
        plan.setup()


@pytest.mark.parametrize(("field", "value", "refusal"), [
    ("dbname", "Vault", "not a plain lowercase name"),
    ("dbname", "vault; drop database postgres", "not a plain lowercase name"),
    ("user", 'kb"vault', "not a plain lowercase name"),
    ("user", "pg_vault", "PostgreSQL's own"),
])
def test_names_that_are_not_plain_are_refused(field, value, refusal):
    warehouse = PostgresTarget(ADMIN.host, ADMIN.port, "kb_wh", "kb_wh_user")
    vault = replace(PostgresTarget(ADMIN.host, ADMIN.port, "kb_vault", "kb_vault_user"),
                    **{field: value})
    with pytest.raises(SetupError, match=refusal):  # refused before connecting
        setup_databases(ADMIN, warehouse, vault, "kb_dagster")


def test_one_role_for_both_and_one_database_for_two_are_refused():
    warehouse = PostgresTarget(ADMIN.host, ADMIN.port, "kb_wh", "kb_hub")
    with pytest.raises(SetupError, match="roles of their own"):
        setup_databases(ADMIN, warehouse, replace(warehouse, dbname="kb_vault"), "kb_dagster")
    with pytest.raises(SetupError, match="three names"):
        setup_databases(ADMIN, warehouse, replace(warehouse, user="kb_vault_user"),
                        "kb_dagster")


def _env(plan: Plan, tmp_path) -> dict[str, str]:
    return {"KETENBRUG_HOME": str(tmp_path), "KETENBRUG_PROFILE": "postgres",
            "KETENBRUG_PG_HOST": ADMIN.host, "KETENBRUG_PG_PORT": str(ADMIN.port),
            "KETENBRUG_PG_DBNAME": plan.warehouse.dbname,
            "KETENBRUG_PG_USER": plan.warehouse.user,
            "KETENBRUG_PG_PASSWORD": plan.warehouse.password,
            "KETENBRUG_VAULT_PG_DBNAME": plan.vault.dbname,
            "KETENBRUG_VAULT_PG_USER": plan.vault.user,
            "KETENBRUG_VAULT_PG_PASSWORD": plan.vault.password,
            "KETENBRUG_DAGSTER_PG_DBNAME": plan.dagster_dbname,
            "KETENBRUG_PG_ADMIN_PASSWORD": ADMIN.password}


def test_the_command_prints_what_it_made_one_line_each_and_never_a_password(plan, tmp_path):
    admin_url = ADMIN.url
    first = CliRunner().invoke(db, ["setup", "--admin-url", admin_url],
                               env=_env(plan, tmp_path))
    assert first.exit_code == 0, first.output
    assert f"created database {plan.vault.dbname} owned by {plan.vault.user}\n" in first.output
    assert len(first.output.splitlines()) == 10
    again = CliRunner().invoke(db, ["setup", "--admin-url", admin_url],
                               env=_env(plan, tmp_path))
    assert again.exit_code == 0 and again.output.startswith("nothing to do")
    for output in (first.output, again.output):
        assert plan.vault.password not in output and plan.warehouse.password not in output
    _refused(plan.warehouse.user, plan.vault.dbname)


def test_the_command_refuses_the_embedded_profile(tmp_path):
    done = CliRunner().invoke(db, ["setup"], env={"KETENBRUG_HOME": str(tmp_path),
                                                  "KETENBRUG_PROFILE": "embedded"})
    assert done.exit_code == 1
    assert "set KETENBRUG_PROFILE=postgres" in done.output


def test_the_command_refuses_an_admin_url_with_a_password(plan, tmp_path):
    done = CliRunner().invoke(db, ["setup", "--admin-url",
                                   "postgresql://postgres:hunter2@127.0.0.1:5432/postgres"],
                              env=_env(plan, tmp_path))
    assert done.exit_code == 2 and "hunter2" not in done.output
    assert _state(plan) == []
