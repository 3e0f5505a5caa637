"""Checkpoints of the audit chain's head outside the database make a rewrite, a cut or an emptying show.

Each attack is the one outside testers ran: rewrite the tables behind the
application's back (on Postgres as the tables' owner with the triggers switched
off; on SQLite with raw SQL, which the model's guard never sees) and keep the
chain internally consistent, so that recomputing the hashes alone finds nothing.
"""

from __future__ import annotations

import json
import logging
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.actions.audit import record_audit_event, seal_pending_events, write_audit_checkpoint
from accounts.audit_checkpoints import signed_line
from accounts.audit_labels import AuditAction
from accounts.models import AuditEvent, AuditSeal
from accounts.models.audit import chain_hash
from accounts.selectors import verify_audit_chain
from tests.conftest import World

AUDIT_TABLES = ("accounts_auditevent", "accounts_auditseal")


@pytest.fixture(autouse=True)
def checkpoint_path(settings: object, tmp_path: Path) -> Path:
    path = tmp_path / "audit" / "checkpoints.jsonl"
    settings.AUDIT_CHECKPOINT_FILE = path
    return path


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


def _head() -> AuditSeal:
    head = AuditSeal.objects.order_by("-seq").first()
    assert head is not None
    return head


def _behind_the_apps_back(*statements: tuple[str, list[object]]) -> None:
    """Run raw SQL on the audit tables as the tables' owner would, triggers off on Postgres."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while FK checks are pending
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for sql, params in statements:
            cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def _verify_fails(*expected: str) -> str:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", stdout=StringIO(), stderr=StringIO())
    message = str(failure.value)
    for text in expected:
        assert text in message
    return message


def test_a_changed_event_with_every_later_seal_recomputed_is_reported(world: World) -> None:
    events = _events(world, 8)
    seal_pending_events()
    assert write_audit_checkpoint() is not None
    head = _head()
    target = events[2]
    target_seq = AuditSeal.objects.get(event=target).seq

    # Change one event, then recompute every seal from it onwards so that the chain holds together.
    _behind_the_apps_back(("UPDATE accounts_auditevent SET action = %s WHERE id = %s", ["auth.logout", target.pk]))
    prev_hash = AuditSeal.objects.get(seq=target_seq).prev_hash
    rehashed = []
    for seal in AuditSeal.objects.filter(seq__gte=target_seq).select_related("event").order_by("seq"):
        digest = chain_hash(prev_hash, seal.event)
        rehashed.append(
            ("UPDATE accounts_auditseal SET prev_hash = %s, hash = %s WHERE seq = %s", [prev_hash, digest, seal.seq])
        )
        prev_hash = digest
    _behind_the_apps_back(*rehashed)

    report = verify_audit_chain()
    assert report.chain_consistent, "recomputation alone cannot see this rewrite"
    assert not report.intact
    assert any(
        f"seal {head.seq} no longer has the hash recorded by the checkpoint" in p for p in report.checkpoint_problems
    )
    _verify_fails("does NOT match its checkpoints", f"seal {head.seq} no longer has the hash")


def test_the_last_ten_seals_and_events_removed_are_reported(world: World) -> None:
    _events(world, 15)
    seal_pending_events()
    write_audit_checkpoint()
    head = _head().seq
    first_cut_event = AuditSeal.objects.get(seq=head - 9).event_id
    _behind_the_apps_back(
        ("DELETE FROM accounts_auditseal WHERE seq > %s", [head - 10]),
        ("DELETE FROM accounts_auditevent WHERE id >= %s", [first_cut_event]),
    )

    report = verify_audit_chain()
    assert report.chain_consistent
    assert report.sealed == head - 10
    _verify_fails(
        f"the chain ends at seal {head - 10}", f"recorded seal {head}", f"seals {head - 9} to {head} were removed"
    )


def test_emptied_audit_tables_are_reported(world: World) -> None:
    _events(world, 3)
    seal_pending_events()
    write_audit_checkpoint()
    head = _head().seq
    if connection.vendor == "postgresql":
        _behind_the_apps_back(("TRUNCATE accounts_auditseal, accounts_auditevent", []))
    else:
        _behind_the_apps_back(("DELETE FROM accounts_auditseal", []), ("DELETE FROM accounts_auditevent", []))
    assert AuditSeal.objects.count() == AuditEvent.objects.count() == 0

    report = verify_audit_chain()
    assert report.sealed == 0
    assert not report.intact
    _verify_fails("the chain is empty", f"recorded seal {head}")


def test_a_checkpoint_with_a_forged_signature_is_reported(world: World, checkpoint_path: Path) -> None:
    _events(world, 3)
    seal_pending_events()
    genuine = write_audit_checkpoint()
    assert genuine is not None
    # Someone who can write the file but lacks the key: a made-up head, and a genuine line with one byte changed.
    forged = json.loads(signed_line(genuine.seq + 5, "a" * 64, genuine.time))
    forged["sig"] = "0" * 64
    altered = json.loads(checkpoint_path.read_text().splitlines()[0])
    altered["hash"] = "b" * 64
    with checkpoint_path.open("a") as file:
        file.write(json.dumps(forged) + "\n" + json.dumps(altered) + "\nnot json at all\n")

    report = verify_audit_chain()
    assert report.checkpoints_matched == 1, "the genuine checkpoint still counts"
    assert not report.intact
    _verify_fails(
        f"line 2: the signature of the checkpoint for seal {genuine.seq + 5} is wrong",
        f"line 3: the signature of the checkpoint for seal {genuine.seq} is wrong",
        "line 4: not a checkpoint",
    )


def test_a_checkpoint_signed_with_another_key_is_reported(world: World, settings: object) -> None:
    _events(world, 2)
    seal_pending_events()
    settings.AUDIT_CHECKPOINT_KEY = "a-key-the-deployment-never-had"
    write_audit_checkpoint()
    settings.AUDIT_CHECKPOINT_KEY = "test-audit-checkpoint-key-not-for-production"
    _verify_fails("line 1: the signature of the checkpoint", "is wrong")


def test_an_untouched_chain_with_checkpoints_is_intact(world: World, checkpoint_path: Path) -> None:
    _events(world, 3)
    seal_pending_events()
    first = write_audit_checkpoint()
    assert write_audit_checkpoint() is None, "an unchanged head is not written twice"
    _events(world, 4)
    seal_pending_events()
    second = write_audit_checkpoint()
    assert first is not None
    assert second is not None
    assert second.seq == first.seq + 4
    assert len(checkpoint_path.read_text().splitlines()) == 2

    report = verify_audit_chain(batch_size=2)
    assert report.intact
    assert report.checkpoints_matched == 2
    out = StringIO()
    call_command("verify_audit", stdout=out, stderr=StringIO())
    assert "Audit chain intact" in out.getvalue()
    assert f"Matches all 2 checkpoints in {checkpoint_path}" in out.getvalue()
    assert f"covers seals 1 to {second.seq}" in out.getvalue()


def test_a_rotated_key_still_verifies_older_checkpoints(world: World, settings: object) -> None:
    _events(world, 2)
    seal_pending_events()
    write_audit_checkpoint()
    settings.AUDIT_CHECKPOINT_KEY = "a-new-key,test-audit-checkpoint-key-not-for-production"
    _events(world, 1)
    seal_pending_events()
    write_audit_checkpoint()
    report = verify_audit_chain()
    assert report.intact
    assert report.checkpoints_matched == 2


def test_without_a_checkpoint_file_verification_says_so_and_fails(world: World, checkpoint_path: Path) -> None:
    _events(world, 2)
    seal_pending_events()
    err = StringIO()
    with pytest.raises(CommandError, match="could not be checked against checkpoints"):
        call_command("verify_audit", stdout=StringIO(), stderr=err)
    assert f"no audit checkpoint file at {checkpoint_path}" in err.getvalue()
    assert verify_audit_chain().checkpoint_file_missing


def test_an_empty_chain_without_checkpoints_is_only_a_warning(db: None) -> None:
    out, err = StringIO(), StringIO()
    call_command("verify_audit", stdout=out, stderr=err)
    assert "no audit checkpoint file" in err.getvalue()
    assert "Audit chain intact: 0 sealed events verified" in out.getvalue()


def test_a_checkpoint_is_seq_hash_and_time_only_in_the_file_and_the_log(
    world: World, checkpoint_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _events(world, 2)
    seal_pending_events()
    with caplog.at_level(logging.INFO, logger="portal.audit.checkpoint"):
        checkpoint = write_audit_checkpoint()
    assert checkpoint is not None
    head = _head()
    line = json.loads(checkpoint_path.read_text())
    assert set(line) == {"seq", "hash", "time", "sig"}
    assert (line["seq"], line["hash"]) == (head.seq, head.hash)
    messages = [r.getMessage() for r in caplog.records if r.name == "portal.audit.checkpoint"]
    assert messages == [f"Audit checkpoint seq={head.seq} hash={head.hash} time={checkpoint.time}"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", checkpoint.time)


def test_the_writer_warns_when_the_chain_lost_the_last_checkpoint(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    _events(world, 5)
    seal_pending_events()
    write_audit_checkpoint()
    head = _head().seq
    _behind_the_apps_back(("DELETE FROM accounts_auditseal WHERE seq > %s", [head - 3]))
    with caplog.at_level(logging.ERROR, logger="portal.audit.checkpoint"):
        write_audit_checkpoint()
    assert f"The audit chain no longer holds seal {head} as checkpointed" in caplog.text


def test_the_sealing_task_checkpoints_at_most_once_per_interval_and_beat_catches_up(
    world: World, checkpoint_path: Path, settings: object
) -> None:
    from accounts.tasks import checkpoint_audit_chain, seal_audit_events

    settings.AUDIT_CHECKPOINT_INTERVAL_SECONDS = 3600
    _events(world, 2)
    seal_audit_events.apply().get()
    assert len(checkpoint_path.read_text().splitlines()) == 1, "the first run after sealing writes one"
    _events(world, 2)
    seal_audit_events.apply().get()
    assert len(checkpoint_path.read_text().splitlines()) == 1, "the next run within the interval does not"
    assert checkpoint_audit_chain.apply().get() == _head().seq, "the scheduled checkpoint does"
    assert checkpoint_audit_chain.apply().get() is None, "and only when the head moved"
    assert verify_audit_chain().checkpoints_matched == 2


def test_beat_schedules_the_checkpoint() -> None:
    from portal.celery import app

    app.loader.import_default_modules()
    app.finalize()
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "accounts.checkpoint_audit_chain" in tasks
    assert "accounts.checkpoint_audit_chain" in app.tasks


def test_the_seal_command_checkpoints_too(world: World) -> None:
    _events(world, 2)
    out = StringIO()
    call_command("seal_audit", stdout=out)
    assert f"Checkpointed the chain at seal {_head().seq}" in out.getvalue()
    assert verify_audit_chain().checkpoints_matched == 1
