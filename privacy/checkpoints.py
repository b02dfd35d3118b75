"""Signed checkpoints of the disclosure log's head: cutting or rewriting it shows.

The hash chain shows an entry altered in place, but not a log cut short, emptied, or
rewritten whole with the chain recomputed (no secret is needed for that). A checkpoint
is the hub's Ed25519 signature over (seq, hash) of one entry, so everything up to that
entry is fixed: without the signing key no one can shorten or rewrite it unnoticed.

Stored twice over, so that removing either one shows:
- `<log>.checkpoints`: one signed checkpoint per line, append-only, owner-only, written
  under the log's own lock. Cutting the log below its last checkpoint leaves a
  checkpoint of an entry that is no longer there.
- a `checkpoint` entry in the log right after the entry it signs, carrying the same
  signed checkpoint. Deleting or cutting the checkpoints file leaves checkpoint entries
  whose checkpoint is not in it.

The file is written first: a writer killed in between leaves a checkpoint the log has
no entry for yet, which is consistent (the entry is a mark, not the proof). The hub
refuses (LogTampered) to sign a head while stored checkpoints and the log disagree, so
its next run cannot launder a rewritten log.

`checkpoint_log` is called at the end of each delivery step and of each run, and
after each disclosure outside a run (profile reads, subject-access requests). Entries
after the last checkpoint are covered only by recipients' witnesses (the head in their
manifests). What an insider who holds the signing key can still do is in
ARCHITECTURE.md ("Threat model of the disclosure log").
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ketenbrug.privacy.disclosure_log import GENESIS, LogContents, LogLocation, locked_log
from ketenbrug.privacy.file_modes import PRIVATE_FILE_MODE, private_dir, require_private
from ketenbrug.privacy.log_tables import PostgresLines
from ketenbrug.privacy.sealing import hub_key_id, load_or_create_signing_key

CHECKPOINTS_SUFFIX = ".checkpoints"
CHECKPOINT_EVENT = "checkpoint"
# Domain separation: a checkpoint signature can never pass for a package manifest's.
_SIGNED_AS = b"ketenbrug:disclosure-log-checkpoint:v1\n"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str  # of the entry at `seq`
    at: str
    key_id: str  # first 16 hex of SHA-256 over the hub's raw public key
    signature: str  # hex

    def signed_bytes(self) -> bytes:
        body = {"seq": self.seq, "hash": self.hash, "at": self.at, "key_id": self.key_id}
        return _SIGNED_AS + json.dumps(body, sort_keys=True).encode()

    def verifies(self, hub_key: Ed25519PublicKey) -> bool:
        try:
            hub_key.verify(bytes.fromhex(self.signature), self.signed_bytes())
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the log, where it is and what tampering it indicates."""

    where: str  # "line 7", "seq 12", "disclosures.jsonl.checkpoints line 2", a witness
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass(frozen=True)
class StoredCheckpoints:
    exists: bool
    checkpoints: list[tuple[int, Checkpoint]]  # (line in the checkpoints file, checkpoint)
    damaged: list[int]  # lines that are no checkpoint


class LogTampered(Exception):
    """The disclosure log disagrees with its signed checkpoints: the hub will not sign it."""


def checkpoints_path(log_path: LogLocation) -> LogLocation:
    """Where the log's signed checkpoints are kept: beside the file, or in their table."""
    if isinstance(log_path, PostgresLines):
        return log_path.checkpoints()
    return log_path.with_name(log_path.name + CHECKPOINTS_SUFFIX)


def checkpoint_log(log_path: LogLocation, signing_key: Ed25519PrivateKey) -> Checkpoint:
    """Sign the log's head: store the signed checkpoint, then mark it in the log.

    Nothing new when the head already is the mark of a checkpoint of the entry before it.
    Refuses (LogTampered) while stored checkpoints and the log disagree (the message
    names the first problem; `audit verify` names all), and (FileModeError) a log or
    checkpoints file that group or others can access.
    """
    hub_key = signing_key.public_key()
    store = checkpoints_path(log_path)
    with locked_log(log_path) as log:  # one writer for the log and its checkpoints
        problems, _ = check_checkpoints(log.contents, store, hub_key)
        if problems:
            raise LogTampered(f"{log_path}: not signing the log's head: {problems[0]} "
                              "(run `ketenbrug audit verify`)")
        entries = log.contents.entries
        if len(entries) >= 2 and _is_mark_of(entries[-1], entries[-2]):
            return Checkpoint(**entries[-1]["checkpoint"])
        head = log.head or {"seq": 0, "hash": GENESIS}
        unsigned = Checkpoint(seq=head["seq"], hash=head["hash"], key_id=hub_key_id(hub_key),
                              at=datetime.now(UTC).isoformat(timespec="seconds"), signature="")
        checkpoint = replace(unsigned, signature=signing_key.sign(unsigned.signed_bytes()).hex())
        _append_line(store, json.dumps(asdict(checkpoint), sort_keys=True))
        log.append({"event": CHECKPOINT_EVENT, "checkpoint": asdict(checkpoint),
                    "signed_in": store.name})
    return checkpoint


def checkpoint_hub_log(log_path: LogLocation, keys_dir: Path) -> Checkpoint | None:
    """Sign the head of the hub's log with the hub's key, once something was logged.

    Called at the end of every run and after every disclosure made outside one (an
    officer's profile read, a subject-access request): an insider who reads and then cuts
    the log's tail would otherwise hide exactly the read they should answer for.
    """
    if not log_path.exists():
        return None
    return checkpoint_log(log_path, load_or_create_signing_key(keys_dir))


def _is_mark_of(mark: dict, entry: dict) -> bool:
    signed = mark.get("checkpoint") if mark.get("event") == CHECKPOINT_EVENT else None
    return isinstance(signed, dict) and (signed.get("seq"), signed.get("hash")) == (
        entry["seq"], entry["hash"])


def read_checkpoints(store: LogLocation) -> StoredCheckpoints:
    """The checkpoints in `store` (signatures unchecked), and lines that hold none.

    A torn last line (a write cut short) is not a checkpoint and not counted as damage.
    """
    if not store.exists():
        return StoredCheckpoints(exists=False, checkpoints=[], damaged=[])
    found, damaged = [], []
    lines = store.read_bytes().split(b"\n")
    lines.pop()
    for line_no, line in enumerate(lines, start=1):
        try:
            found.append((line_no, Checkpoint(**json.loads(line))))
        except (ValueError, TypeError):  # not UTF-8 / JSON, or other fields
            damaged.append(line_no)
    return StoredCheckpoints(exists=True, checkpoints=found, damaged=damaged)


def check_checkpoints(contents: LogContents, store: LogLocation,
                      hub_key: Ed25519PublicKey | None) -> tuple[list[Problem], int | None]:
    """Problems with the log's checkpoints, and the last seq a valid checkpoint fixes.

    Every checkpoint, stored or marked in the log, must be signed by `hub_key` and name
    an entry the log still holds with the same hash; every mark's checkpoint must be in
    the checkpoints file. A log never checkpointed is no problem here (the hub may sign
    it); `log_audit` reports it.
    """
    stored = read_checkpoints(store)
    problems = [Problem(f"{store.name} line {n}", "not a checkpoint (damaged or altered)")
                for n in stored.damaged]
    if hub_key is None:
        problems.append(Problem(store.name, "hub public key not found: checkpoint signatures "
                                            "cannot be checked (give --hub-key)"))
    by_seq = {e["seq"]: (line, e) for line, e in zip(contents.lines, contents.entries,
                                                      strict=True)}
    marks = _marks(contents, problems)
    fixed: int | None = None
    sources = [(f"{store.name} line {n} (seq {cp.seq})", cp) for n, cp in stored.checkpoints]
    sources += [(f"line {line} (checkpoint of seq {cp.seq})", cp) for line, cp in marks]
    for where, cp in sources:
        problem = _checked(where, cp, by_seq, hub_key)
        if problem is None:
            fixed = max(fixed or 0, cp.seq)
        else:
            problems.append(problem)
    in_file = {cp.signature for _, cp in stored.checkpoints}
    if not stored.exists and marks:
        problems.append(Problem(store.name, f"missing, while the log holds {len(marks)} "
                                            f"checkpoint entr{'y' if len(marks) == 1 else 'ies'}"
                                            ": the checkpoints file was deleted"))
    elif stored.exists:
        problems += [Problem(f"line {line} (checkpoint of seq {cp.seq})",
                             f"its signed checkpoint is not in {store.name}: checkpoints were "
                             "removed from the file") for line, cp in marks
                     if cp.signature not in in_file]
    return problems, fixed


def _marks(contents: LogContents, problems: list[Problem]) -> list[tuple[int, Checkpoint]]:
    marks = []
    for line, entry in zip(contents.lines, contents.entries, strict=True):
        if entry.get("event") != CHECKPOINT_EVENT:
            continue
        try:
            marks.append((line, Checkpoint(**entry["checkpoint"])))
        except (KeyError, TypeError):
            problems.append(Problem(f"line {line}", "checkpoint entry without a checkpoint "
                                                    "(altered)"))
    return marks


def _checked(where: str, cp: Checkpoint, by_seq: dict[int, tuple[int, dict]],
             hub_key: Ed25519PublicKey | None) -> Problem | None:
    """Why `cp` does not fix the log, or None when it does."""
    if hub_key is not None and cp.key_id != hub_key_id(hub_key):
        return Problem(where, f"signed with key {cp.key_id}, not the hub's "
                              f"{hub_key_id(hub_key)}: a forged checkpoint")
    if hub_key is not None and not cp.verifies(hub_key):
        return Problem(where, "signature does not verify against the hub key: a forged or "
                              "altered checkpoint")
    if cp.seq == 0:
        return None  # the empty log's checkpoint: nothing to hold
    held = by_seq.get(cp.seq)
    last_seq = max(by_seq, default=0)
    if held is None and cp.seq > last_seq:
        return Problem(where, f"signs seq {cp.seq}, but the log ends at seq {last_seq}: "
                              "entries were cut from its end")
    if held is None:
        return Problem(where, f"signs seq {cp.seq}, which the log no longer holds: entries "
                              "were removed")
    if held[1]["hash"] != cp.hash:
        return Problem(f"line {held[0]} (seq {cp.seq})",
                       "differs from its signed checkpoint: the log up to here was rewritten "
                       "(entries removed or altered, chain recomputed)")
    return None


def _append_line(store: LogLocation, line: str) -> None:
    """Append one line to an owner-only file under its own flock, setting aside nothing:
    a torn last line (a write cut short) is cut off first, it was never a checkpoint.
    (A table takes the line whole, in one statement.)"""
    if isinstance(store, PostgresLines):
        store.append_line(line)
        return
    private_dir(store.parent)
    fd = os.open(store, os.O_RDWR | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "a+b") as handle:
        require_private(store, what="disclosure-log checkpoints")
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        data = handle.read()
        if data and not data.endswith(b"\n"):
            handle.truncate(data.rfind(b"\n") + 1)
        handle.write(line.encode() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
