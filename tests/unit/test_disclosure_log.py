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


def test_a_broken_line_inside_the_log_is_named(tmp_path):
    import pytest

    from ketenbrug.privacy.disclosure_log import LogError

    path = tmp_path / "log.jsonl"
    append_entry(path, {"event": "x"})
    path.write_bytes(b"\xff\xfe not json\n" + path.read_bytes())
    with pytest.raises(LogError, match=r"line 1 is not a complete entry"):
        read_log(path)
