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
