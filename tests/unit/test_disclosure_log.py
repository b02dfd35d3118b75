import json

from ketenbrug.privacy import append_entry, read_log, verify_log


def _log(tmp_path, n=4):
    path = tmp_path / "log.jsonl"
    for i in range(n):
        append_entry(path, {"event": "delivery", "recipient": f"municipality:GM000{i}",
                            "persons": i})
    return path


def _rewrite(path, entries):
    path.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))


def test_intact_log_verifies(tmp_path):
    path = _log(tmp_path)
    assert verify_log(path) == []
    assert [e["seq"] for e in read_log(path)] == [1, 2, 3, 4]


def test_altered_entry_is_named(tmp_path):
    path = _log(tmp_path)
    entries = read_log(path)
    entries[1]["persons"] = 99
    _rewrite(path, entries)
    assert [b.line for b in verify_log(path)] == [2]


def test_removed_entry_is_detected(tmp_path):
    path = _log(tmp_path)
    entries = read_log(path)
    del entries[2]
    _rewrite(path, entries)
    assert verify_log(path)[0].line == 3


def test_reordered_entries_are_detected(tmp_path):
    path = _log(tmp_path)
    entries = read_log(path)
    entries[1], entries[2] = entries[2], entries[1]
    _rewrite(path, entries)
    assert {b.line for b in verify_log(path)} >= {2, 3}


def test_processes_appending_at_once_keep_one_chain(tmp_path):
    # Four writers at once, 50 entries each: one unbroken chain of 200.
    import subprocess
    import sys

    path = tmp_path / "log.jsonl"
    code = ("import sys; from pathlib import Path; from ketenbrug.privacy import append_entry\n"
            "for i in range(50): append_entry(Path(sys.argv[1]), {'event': 'x', 'i': i})")
    writers = [subprocess.Popen([sys.executable, "-c", code, str(path)]) for _ in range(4)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    assert verify_log(path) == []
    assert [e["seq"] for e in read_log(path)] == list(range(1, 201))


def test_a_torn_last_line_is_reported_then_set_aside_without_losing_an_entry(tmp_path):
    path = tmp_path / "log.jsonl"
    for i in range(3):
        append_entry(path, {"event": "x", "i": i})
    with path.open("ab") as handle:  # a writer killed half-way through its line
        handle.write(b'{"event": "x", "i": 3, "se')
    assert [e["i"] for e in read_log(path)] == [0, 1, 2]  # readers go on
    [torn] = verify_log(path)
    assert torn.line == 4 and "torn last line" in torn.reason
    append_entry(path, {"event": "x", "i": 4})
    assert verify_log(path) == []
    assert [(e["seq"], e["i"]) for e in read_log(path)] == [(1, 0), (2, 1), (3, 2), (4, 4)]
    assert (tmp_path / "log.jsonl.torn").read_text().startswith('line 4: {"event": "x"')


def test_damaged_lines_inside_the_log_are_skipped_named_and_appended_past(tmp_path):
    import pytest

    from ketenbrug.privacy import read_log_contents
    from ketenbrug.privacy.disclosure_log import LogError

    path = _log(tmp_path, n=3)
    lines = path.read_bytes().split(b"\n")
    lines[0] = lines[0][:7] + b"\xff" + lines[0][8:]  # a flipped byte
    lines[1] = b'{"half an entry": '  # a torn write that later lines followed
    path.write_bytes(b"\n".join(lines))
    assert [e["seq"] for e in read_log(path)] == [3]  # readers go on with what is whole
    damaged = read_log_contents(path).damaged
    assert [(d.line, d.reason) for d in damaged] == [(1, "not valid UTF-8 at byte 7"),
                                                     (2, "not a JSON entry")]
    with pytest.raises(LogError, match=r"line 1 is not valid UTF-8 at byte 7"):
        read_log(path, strict=True)
    assert append_entry(path, {"event": "x"})["seq"] == 4  # from the last complete entry
    reported = [(b.line, b.reason.split(" (")[0]) for b in verify_log(path)]
    assert reported == [(1, "not valid UTF-8 at byte 7"), (2, "not a JSON entry"),
                        (3, "previous-hash link broken")]  # seq 3 after 2 lost lines: no gap


def test_log_head_is_the_last_complete_entry(tmp_path):
    from ketenbrug.privacy import log_head
    from ketenbrug.privacy.disclosure_log import GENESIS

    path = tmp_path / "log.jsonl"
    assert log_head(path) == {"seq": 0, "hash": GENESIS}
    for i in range(80):  # more than the tail block log_head reads
        append_entry(path, {"event": "x", "padding": "p" * 1000, "i": i})
    last = read_log(path)[-1]
    assert log_head(path) == {"seq": 80, "hash": last["hash"]}
    with path.open("ab") as handle:
        handle.write(b"not an entry\n" + b'{"torn')
    assert log_head(path) == {"seq": 80, "hash": last["hash"]}


def test_appends_read_the_head_from_the_tail_and_go_on_past_what_it_cannot_tell(tmp_path):
    """An append reads only the log's last block, yet chains on correctly after an entry
    longer than that block and after a damaged last line, in a log longer than it."""
    path = tmp_path / "log.jsonl"
    for i in range(70):  # more than the tail block an append reads
        append_entry(path, {"event": "x", "padding": "p" * 1000, "i": i})
    append_entry(path, {"event": "x", "subject_refs": ["r" * 64] * 2000})  # ~130 KiB line
    assert append_entry(path, {"event": "x"})["seq"] == 72
    with path.open("ab") as handle:
        handle.write(b"not an entry\n")
    assert append_entry(path, {"event": "x"})["seq"] == 73
    reported = [(b.line, b.reason.split(" (")[0]) for b in verify_log(path)]
    assert reported == [(73, "not a JSON entry")]  # the damage, and the chain intact past it
    assert [e["seq"] for e in read_log(path)] == list(range(1, 74))


def test_an_entry_longer_than_the_tail_block_does_not_make_the_next_append_read_the_log(
        tmp_path, monkeypatch):
    """A delivery to a large municipality names thousands of subjects: its line is longer
    than one block. The next append and log_head still read only the tail (a whole read per
    append made a 1M-client delivery quadratic in the log's size)."""
    from ketenbrug.privacy import disclosure_log, log_head

    path = tmp_path / "log.jsonl"
    for i in range(70):
        append_entry(path, {"event": "x", "padding": "p" * 1000, "i": i})
    last = append_entry(path, {"event": "x", "subject_refs": ["r" * 64] * 5000})  # ~330 KiB

    def whole_read(*_args):
        raise AssertionError("the whole log was read for its head")

    monkeypatch.setattr(disclosure_log, "_read_all", whole_read)
    monkeypatch.setattr(disclosure_log, "read_log", whole_read)
    assert log_head(path) == {"seq": 71, "hash": last["hash"]}
    assert append_entry(path, {"event": "x"})["seq"] == 72
    monkeypatch.undo()
    assert verify_log(path) == []
