"""The running application's database role may only read and append to the audit log (Postgres).

The test connects as that role with psycopg2, after `grant_app_role` ran, and
tries what the outside testers did as the tables' owner. The role is
`portal_app` (CI creates it, see .ci/run); where it is missing, the test creates
it if the test's own role may, and skips otherwise (fails under CI, which must create it).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.errors
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection

APP_ROLE = os.environ.get("TEST_APP_DATABASE_ROLE", "portal_app")
APP_PASSWORD = os.environ.get("TEST_APP_DATABASE_PASSWORD", "portal_app")  # .ci/run's; local servers trust

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database roles and privileges are Postgres's"
)


def _ensure_app_role() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        if cursor.fetchone():
            return
        cursor.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            reason = (
                f"no database role {APP_ROLE!r}, and this test's role may not create one "
                f"(CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{APP_PASSWORD}', as .ci/run does)"
            )
            if os.environ.get("CI") == "true":
                pytest.fail(reason + ": CI must create it, so that this never passes by skipping")
            pytest.skip(reason)
        try:
            cursor.execute(f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD %s", [APP_PASSWORD])
        except DatabaseError:
            # Another test run on the same server created it a moment ago.
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
            if not cursor.fetchone():
                raise


@pytest.fixture
def granted(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The test database with the grants made and committed, as the deployment's migrate job leaves it."""
    with django_db_blocker.unblock():
        _ensure_app_role()
        call_command("grant_app_role", APP_ROLE, stdout=StringIO())
        try:
            yield
        finally:
            # Opened outside any test's transaction: closed here, or the test database cannot be dropped at the end.
            connection.close()


@pytest.fixture
def as_app(granted: None) -> Iterator[Any]:
    """A psycopg2 connection to the test database as the application's role; every test's writes roll back."""
    database = connection.settings_dict
    app = psycopg2.connect(
        dbname=database["NAME"],
        host=database["HOST"] or None,
        port=database["PORT"] or None,
        user=APP_ROLE,
        password=APP_PASSWORD,
    )
    try:
        yield app
    finally:
        app.rollback()
        app.close()


def _insert_event(cursor: Any) -> int:
    cursor.execute(
        "INSERT INTO accounts_auditevent (occurred_at, actor_name, basis, action, object_type, object_id,"
        " user_agent, detail) VALUES (now(), '', 'system', 'record.viewed', '', '', '', '{}') RETURNING id"
    )
    return int(cursor.fetchone()[0])


@postgres_only
@pytest.mark.postgres
def test_the_app_role_reads_and_appends_to_the_audit_log(as_app: Any) -> None:
    with as_app.cursor() as cursor:
        event_id = _insert_event(cursor)
        cursor.execute(
            "INSERT INTO accounts_auditseal (seq, event_id, prev_hash, hash, sealed_at) VALUES (%s, %s, %s, %s, now())",
            [10**15, event_id, "0" * 64, secrets.token_hex(32)],
        )
        cursor.execute(
            "SELECT count(*) FROM accounts_auditevent e JOIN accounts_auditseal s ON s.event_id = e.id WHERE e.id = %s",
            [event_id],
        )
        assert cursor.fetchone()[0] == 1


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE accounts_auditevent SET action = 'rewritten'",
        "DELETE FROM accounts_auditevent",
        "TRUNCATE accounts_auditevent CASCADE",
        "UPDATE accounts_auditseal SET hash = 'x'",
        "DELETE FROM accounts_auditseal",
        "TRUNCATE accounts_auditseal",
        "ALTER TABLE accounts_auditevent DISABLE TRIGGER accounts_auditevent_append_only",
        "ALTER TABLE accounts_auditseal DISABLE TRIGGER USER",
        "ALTER TABLE accounts_auditevent DISABLE TRIGGER accounts_auditevent_no_truncate",
        "DROP TRIGGER accounts_auditseal_append_only ON accounts_auditseal",
        "SET session_replication_role = replica",
        "SELECT setval('accounts_auditevent_id_seq', 1)",
    ],
)
def test_the_app_role_cannot_rewrite_the_audit_log(as_app: Any, statement: str) -> None:
    with as_app.cursor() as cursor:
        _insert_event(cursor)  # a row to change, so a refusal is the role's and not an empty table's
        with pytest.raises(psycopg2.errors.InsufficientPrivilege) as refused:
            cursor.execute(statement)
    # Refused for want of privilege or ownership, before any trigger had to say no.
    assert "append-only" not in str(refused.value)
    assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value)


@postgres_only
@pytest.mark.postgres
def test_ordinary_tables_stay_writable_for_the_app_role(as_app: Any) -> None:
    key = ["app-role-test-session"]
    with as_app.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_session (session_key, session_data, expire_date) VALUES (%s, 'x', now())", key
        )
        cursor.execute("UPDATE django_session SET session_data = 'y' WHERE session_key = %s", key)
        assert cursor.rowcount == 1
        cursor.execute("DELETE FROM django_session WHERE session_key = %s", key)
        assert cursor.rowcount == 1
        cursor.execute("SELECT count(*) FROM accounts_user")
        cursor.execute("SELECT has_table_privilege(current_user, 'accounts_user', 'UPDATE')")
        assert cursor.fetchone()[0] is True


@postgres_only
@pytest.mark.postgres
def test_the_grant_is_idempotent_and_takes_back_what_was_granted_by_hand(granted: None, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f"GRANT UPDATE, DELETE, TRUNCATE ON accounts_auditevent TO {APP_ROLE}")
        call_command("grant_app_role", APP_ROLE, stdout=StringIO())
        out = StringIO()
        call_command("grant_app_role", APP_ROLE, stdout=out)
        assert "read and insert only on accounts_auditevent, accounts_auditseal" in out.getvalue()
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            cursor.execute("SELECT has_table_privilege(%s, 'accounts_auditevent', %s)", [APP_ROLE, privilege])
            assert cursor.fetchone()[0] is False, privilege
        cursor.execute("SELECT has_table_privilege(%s, 'accounts_auditevent', 'INSERT')", [APP_ROLE])
        assert cursor.fetchone()[0] is True


@postgres_only
@pytest.mark.postgres
def test_the_grant_refuses_the_owner_a_superuser_and_an_unknown_role(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        me = cursor.fetchone()[0]
    with pytest.raises(CommandError, match=r"superuser|owner"):
        call_command("grant_app_role", me, stdout=StringIO())
    with pytest.raises(CommandError, match="no database role"):
        call_command("grant_app_role", "no_such_role_here", stdout=StringIO())


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite path (the Postgres path is tested above)")
def test_the_grant_command_has_nothing_to_do_on_sqlite(db: None) -> None:
    out = StringIO()
    call_command("grant_app_role", APP_ROLE, stdout=out)
    assert "nothing to grant on sqlite" in out.getvalue()


@postgres_only
@pytest.mark.postgres
def test_the_grant_must_be_run_by_the_owner(granted: None) -> None:
    """Run as the application's role, Postgres would merely warn and grant nothing; the command says so."""
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{APP_ROLE}:{APP_PASSWORD}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "grant_app_role", APP_ROLE],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Run this as" in result.stderr
    assert "the owner of the tables" in result.stderr
