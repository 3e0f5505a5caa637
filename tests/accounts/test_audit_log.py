"""The audit log: append-only in the model and the database, sealed into a verifiable chain."""

from __future__ import annotations

import itertools
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from accounts.actions.audit import record_audit_event, seal_pending_events, write_audit_checkpoint
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, AuditSeal
from accounts.models.audit import AppendOnlyError
from accounts.selectors import verify_audit_chain
from tests.conftest import World

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database-level refusal is a Postgres trigger"
)


@pytest.fixture(autouse=True)
def _checkpoints_of_this_test(settings: object, tmp_path: Path) -> None:
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.jsonl"


def _events(world: World, count: int) -> list[AuditEvent]:
    return [
        record_audit_event(
            action=AuditAction.RECORD_VIEWED,
            user=world.user("patient"),
            subject=world.patient_record,
            object_type="patient",
            object_id=world.patient_record.pk,
            detail={"n": n},
        )
        for n in range(count)
    ]


def test_model_refuses_update_and_delete(world: World) -> None:
    event = _events(world, 1)[0]
    event.action = "something.else"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    seal_pending_events()
    seal = AuditSeal.objects.get()
    with pytest.raises(AppendOnlyError):
        seal.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "record.viewed"


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE accounts_auditevent SET action = 'rewritten'",
        "DELETE FROM accounts_auditevent",
        "UPDATE accounts_auditseal SET hash = 'x'",
        "DELETE FROM accounts_auditseal",
    ],
)
def test_database_refuses_raw_update_and_delete(world: World, statement: str) -> None:
    _events(world, 2)
    seal_pending_events()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.filter(action="rewritten").count() == 0
    assert AuditSeal.objects.count() >= 2


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE accounts_auditseal",
        "TRUNCATE accounts_auditevent CASCADE",
        "TRUNCATE accounts_auditevent, accounts_auditseal",
    ],
)
def test_database_refuses_truncate_even_for_the_owner(world: World, statement: str) -> None:
    """The test suite connects as the tables' owner (and locally as a superuser): the trigger still says no."""
    _events(world, 2)
    seal_pending_events()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_userbyid(relowner) = current_user"
            " OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
            " FROM pg_class WHERE oid = 'accounts_auditevent'::regclass"
        )
        assert cursor.fetchone()[0], "this test must run as the owner (or a superuser)"
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # else TRUNCATE stops at the pending foreign-key checks
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AuditSeal.objects.count() >= 2
    assert AuditEvent.objects.count() >= 2


def test_sealing_chains_every_event_in_order_and_is_idempotent(world: World) -> None:
    events = _events(world, 5)
    assert seal_pending_events() >= 5
    assert seal_pending_events() == 0
    seals = list(AuditSeal.objects.order_by("seq"))
    assert [s.seq for s in seals] == list(range(1, len(seals) + 1))
    for before, after in itertools.pairwise(seals):
        assert after.prev_hash == before.hash
    assert {e.pk for e in events} <= {s.event_id for s in seals}
    report = verify_audit_chain()
    assert report.intact
    assert report.sealed == len(seals)
    assert report.unsealed == 0


def test_sealing_in_small_batches_gives_the_same_chain(world: World) -> None:
    _events(world, 7)
    assert seal_pending_events(batch_size=3) >= 7
    assert verify_audit_chain(batch_size=2).intact


def _tamper(sql: str, params: list[object]) -> None:
    """Change a sealed row behind the application's back, as an attacker with database access would."""
    tables = ("accounts_auditevent", "accounts_auditseal")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The tables' owner can switch the append-only triggers off (which is
            # why production runs the application as a role that owns nothing).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")


def test_verify_audit_names_the_first_tampered_row(world: World) -> None:
    events = _events(world, 6)
    seal_pending_events()
    write_audit_checkpoint()
    target = events[3]
    target_seq = AuditSeal.objects.get(event=target).seq
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact" in out.getvalue()

    _tamper("UPDATE accounts_auditevent SET action = %s WHERE id = %s", ["auth.logout", target.pk])

    report = verify_audit_chain()
    assert not report.intact
    assert report.broken_seq == target_seq
    assert report.broken_event_id == target.pk
    with pytest.raises(CommandError, match=rf"seal {target_seq} \(audit event id {target.pk}\)"):
        call_command("verify_audit", stdout=StringIO())


def test_verify_audit_detects_a_removed_seal(world: World) -> None:
    _events(world, 4)
    seal_pending_events()
    last_seq = AuditSeal.objects.order_by("-seq").first().seq
    _tamper("DELETE FROM accounts_auditseal WHERE seq = %s", [last_seq - 1])
    report = verify_audit_chain()
    assert report.broken_seq == last_seq - 1
    assert "missing" in report.reason


def test_verify_audit_detects_a_rewritten_hash(world: World) -> None:
    _events(world, 3)
    seal_pending_events()
    first = AuditSeal.objects.order_by("seq").first()
    _tamper("UPDATE accounts_auditseal SET prev_hash = %s WHERE seq = %s", ["f" * 64, first.seq])
    assert verify_audit_chain().broken_seq == first.seq


def test_a_racing_sealer_backs_off_without_breaking_the_chain(world: World) -> None:
    """Two sealers computing the same next place: the database refuses the second."""
    _events(world, 3)
    seal_pending_events()
    _events(world, 2)
    # Another sealer got there first and took the next seq for an event of its own.
    head = AuditSeal.objects.order_by("-seq").first()
    pending = AuditEvent.objects.filter(seal__isnull=True).order_by("id").first()
    from accounts.models.audit import chain_hash

    AuditSeal.objects.create(seq=head.seq + 1, event=pending, prev_hash=head.hash, hash=chain_hash(head.hash, pending))
    # This sealer continues from the new head and seals only what is left.
    assert seal_pending_events() == 1
    assert verify_audit_chain().intact


def test_the_seal_task_runs_through_celery(world: World, settings: object) -> None:
    from accounts.tasks import seal_audit_events

    _events(world, 2)
    assert seal_audit_events.apply().get() >= 2
    assert AuditEvent.objects.filter(seal__isnull=True).count() == 0
