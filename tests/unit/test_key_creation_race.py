"""A first run's parallel steps all find the key store empty and all ask for its key: one
creates it and every one gets that same key (the multiprocess executor's forkserver starts
the seven landing steps at once; they raced to create master-v1 and all but one failed)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from ketenbrug.privacy.keys import KeyStore
from ketenbrug.privacy.sealing import load_or_create_recipient_key

PROCESSES = 8


def _master_key(keys_dir: str, start, found) -> None:
    start.wait()
    found.put(KeyStore(Path(keys_dir)).init().master_key.hex())


def _recipient_key(keys_dir: str, start, found) -> None:
    start.wait()
    key = load_or_create_recipient_key(Path(keys_dir), "GM0363")
    found.put(key.public_key().public_bytes_raw().hex())


def _all_at_once(target, keys_dir: Path) -> list[str]:
    context = multiprocessing.get_context("spawn")
    start, found = context.Barrier(PROCESSES), context.Queue()
    processes = [context.Process(target=target, args=(str(keys_dir), start, found))
                 for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    answers = [found.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * PROCESSES
    return answers


def test_processes_opening_an_empty_key_store_at_once_all_get_the_one_key_created(tmp_path):
    keys_dir = tmp_path / "keys"
    answers = _all_at_once(_master_key, keys_dir)
    assert len(set(answers)) == 1
    assert [p.name for p in keys_dir.glob("master-v*.key")] == ["master-v1.key"]
    # Its check value is the created key's, so the next open does not refuse it.
    assert KeyStore(keys_dir).current().master_key.hex() == answers[0]


def test_processes_creating_a_recipients_key_at_once_all_get_the_one_key_created(tmp_path):
    answers = _all_at_once(_recipient_key, tmp_path / "keys")
    assert len(set(answers)) == 1
    assert load_or_create_recipient_key(tmp_path / "keys", "GM0363").public_key() \
        .public_bytes_raw().hex() == answers[0]
