"""The whole check of the disclosure log behind `ketenbrug audit verify`.

Chain, damaged lines, signed checkpoints and recipients' witnesses together; a missing
or empty log is itself a problem, never "0 entries, intact".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ketenbrug.privacy.checkpoints import (
    CHECKPOINT_EVENT,
    Problem,
    check_checkpoints,
    checkpoints_path,
    read_checkpoints,
)
from ketenbrug.privacy.disclosure_log import LogLocation, read_log_contents, verify_log
from ketenbrug.privacy.log_witnesses import check_witness


@dataclass
class LogVerdict:
    problems: list[Problem] = field(default_factory=list)
    entries: int = 0
    checkpoints: int = 0  # checkpoint entries in the log
    checkpointed_seq: int | None = None  # the last seq a valid signed checkpoint fixes
    not_checkpointed: int = 0  # entries after it: only a witness covers them

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_audit(log_path: LogLocation, hub_key: Ed25519PublicKey | None,
                 witnesses: Sequence[Path] = ()) -> LogVerdict:
    """Check the log at `log_path` against its checkpoints and `witnesses`."""
    store = checkpoints_path(log_path)
    if not log_path.exists():
        signed = len(read_checkpoints(store).checkpoints)
        return LogVerdict([Problem(str(log_path), "no disclosure log here: deleted, or the "
                                                  "hub never ran" + (f" ({signed} signed "
                                                  "checkpoint(s) of it exist)" if signed else ""))])
    contents = read_log_contents(log_path)
    verdict = LogVerdict(entries=len(contents.entries),
                         checkpoints=sum(e.get("event") == CHECKPOINT_EVENT
                                         for e in contents.entries))
    if not contents.entries and not contents.damaged:
        verdict.problems.append(Problem(str(log_path), "the disclosure log is empty: emptied, "
                                                       "or the hub never disclosed anything"))
    verdict.problems += [Problem(f"line {b.line}", b.reason) for b in verify_log(log_path)]
    problems, verdict.checkpointed_seq = check_checkpoints(contents, store, hub_key)
    verdict.problems += problems
    if contents.entries and verdict.checkpointed_seq is None and not problems:
        verdict.problems.append(Problem(store.name, "no valid signed checkpoint: nothing fixes "
                                                    "the log, it could have been cut or "
                                                    "rewritten unnoticed (a hub run writes "
                                                    "the first checkpoint)"))
    fixed = verdict.checkpointed_seq or 0
    # A checkpoint's own mark is not counted: cutting it loses nothing the file lacks.
    verdict.not_checkpointed = sum(e["seq"] > fixed and e.get("event") != CHECKPOINT_EVENT
                                   for e in contents.entries)
    for witness in witnesses:
        verdict.problems += check_witness(witness, contents, hub_key)
    # A checkpoint is stored and marked: both pointing at one rewritten entry is one line.
    verdict.problems = list(dict.fromkeys(verdict.problems))
    return verdict
