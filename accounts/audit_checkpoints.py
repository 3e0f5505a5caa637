"""Signed checkpoints of the audit chain's head, kept outside the database.

The hash chain shows a change to a sealed row only to someone who still has the
chain's old hashes: whoever can rewrite the tables can also recompute every seal
after a change, or cut the chain's end off. So the chain's head (seq and hash)
is written regularly to an append-only JSON-lines file, one checkpoint a line,
signed with HMAC-SHA256 under AUDIT_CHECKPOINT_KEY (a secret the database never
sees). `verify_audit` then insists that every checkpointed seal is still in the
chain with the same hash.

A line: {"seq": 42, "hash": "<64 hex>", "time": "2026-11-26T22:14:49+00:00", "sig": "<64 hex>"}.
Nothing else goes in it: no event content, no health data.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

SIGNATURE_CONTEXT = b"portal-audit-checkpoint:v1"
TAIL_BYTES = 8192  # more than any one line


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    time: str
    line: int = 0  # line number in the file (1-based); 0 for one not read from a file


@dataclass(frozen=True)
class CheckpointProblem:
    line: int
    reason: str


def checkpoint_file() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_FILE)


def _keys() -> list[bytes]:
    keys = [key.strip().encode() for key in str(settings.AUDIT_CHECKPOINT_KEY).split(",") if key.strip()]
    if not keys:
        raise ValueError("AUDIT_CHECKPOINT_KEY holds no key.")
    return keys


def _signature(key: bytes, seq: int, head_hash: str, time: str) -> str:
    message = b"\n".join([SIGNATURE_CONTEXT, str(seq).encode(), head_hash.encode(), time.encode()])
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_line(seq: int, head_hash: str, time: str) -> str:
    """One line of the file, signed with the newest key."""
    sig = _signature(_keys()[0], seq, head_hash, time)
    return json.dumps({"seq": seq, "hash": head_hash, "time": time, "sig": sig}, separators=(",", ":")) + "\n"


def parse_line(text: str, line: int) -> Checkpoint | CheckpointProblem:
    """A checkpoint whose signature one of the keys made, or what is wrong with the line."""
    try:
        data = json.loads(text)
    except ValueError:
        return CheckpointProblem(line, "not a checkpoint (unreadable JSON)")
    if not isinstance(data, dict):
        return CheckpointProblem(line, "not a checkpoint")
    seq, head_hash, time, sig = data.get("seq"), data.get("hash"), data.get("time"), data.get("sig")
    if not (
        isinstance(seq, int)
        and not isinstance(seq, bool)
        and seq > 0
        and isinstance(head_hash, str)
        and isinstance(time, str)
        and isinstance(sig, str)
    ):
        return CheckpointProblem(line, "not a checkpoint (a field is missing or of the wrong type)")
    if not any(hmac.compare_digest(_signature(key, seq, head_hash, time), sig) for key in _keys()):
        return CheckpointProblem(
            line, f"the signature of the checkpoint for seal {seq} is wrong (forged, altered or another key)"
        )
    return Checkpoint(seq=seq, hash=head_hash, time=time, line=line)


def read_checkpoints(path: Path) -> list[Checkpoint | CheckpointProblem]:
    """Every line of the file in order; raises FileNotFoundError when there is no file."""
    with path.open(encoding="utf-8", errors="replace") as file:
        fcntl.flock(file.fileno(), fcntl.LOCK_SH)  # never read a line a writer is half-way through
        lines = file.readlines()
    return [parse_line(text, number) for number, text in enumerate(lines, start=1) if text.strip()]


def latest_checkpoint(path: Path) -> Checkpoint | None:
    """The last line's checkpoint if it is genuine; None when there is none (or it is not)."""
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            size = file.tell()
            file.seek(max(0, size - TAIL_BYTES))
            tail = file.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    lines = [text for text in tail.splitlines() if text.strip()]
    if not lines:
        return None
    found = parse_line(lines[-1], 0)
    return found if isinstance(found, Checkpoint) else None


@contextlib.contextmanager
def locked_for_append(path: Path) -> Iterator[int]:
    """The file opened for appending (created 0640 if need be), under an exclusive lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def append_line(fd: int, line: str) -> None:
    os.write(fd, line.encode())
    os.fsync(fd)  # a checkpoint that a crash can lose protects nothing
