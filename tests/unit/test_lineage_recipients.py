"""Who actually received an output, counted from disclosure log entries: distinct persons
by their subject references, deliveries beside them, nobody for a read of nobody."""

from ketenbrug.audit.recipients import actual_recipients

RN, GM = "probation_organisation:RN", "municipality:GM0363"


def _entry(event, recipient, refs=None, persons=None, purpose="warm_handover", at="t1"):
    entry = {"event": event, "recipient": recipient, "purpose": purpose, "at": at,
             "persons": len(refs) if persons is None else persons}
    if refs is not None:
        entry["subject_refs"] = refs
    return entry


def test_redeliveries_of_the_same_persons_count_them_once():
    same = ["v1-a", "v1-b"]
    entries = [e for run in ("t1", "t2", "t3") for e in (
        _entry("reidentification", GM, same, at=run), _entry("delivery", GM, same, at=run))]
    (got,) = actual_recipients(entries, ["warm_handover"])
    assert (got.recipient, got.persons, got.deliveries) == (GM, 2, 3)
    assert got.events == ("delivery", "reidentification") and got.last_at == "t3"


def test_reads_count_the_persons_read_not_zero():
    reads = [_entry("profile_read", RN, [f"v1-{i}" for i in range(20)], purpose="jp"),
             _entry("profile_read", RN, ["v1-3"], purpose="jp"),
             _entry("profile_read", RN, ["v1-3"], purpose="jp")]
    (got,) = actual_recipients(reads, ["jp"])
    assert (got.persons, got.deliveries, got.unreferenced) == (20, 3, 0)


def test_a_recipient_whose_only_read_returned_nobody_is_not_listed():
    entries = [_entry("profile_read", "probation_organisation:LJR", [], purpose="jp"),
               _entry("profile_read", RN, ["v1-a"], purpose="jp"),
               _entry("profile_read", RN, [], purpose="jp")]
    (got,) = actual_recipients(entries, ["jp"])
    assert (got.recipient, got.deliveries) == (RN, 1)  # the empty read delivered nothing


def test_a_delivery_without_personal_data_still_makes_a_recipient():
    statement = {"event": "delivery", "recipient": GM, "purpose": "municipal_billing",
                 "persons": 0, "at": "t1"}
    (got,) = actual_recipients([statement, statement], ["municipal_billing"])
    assert (got.persons, got.deliveries) == (0, 2)


def test_entries_without_references_add_their_counts_and_say_so():
    entries = [_entry("delivery", GM, persons=4), _entry("delivery", GM, persons=4),
               _entry("reidentification", GM, persons=4),  # the delivery's own step
               _entry("delivery", GM, ["v1-a"])]
    (got,) = actual_recipients(entries, ["warm_handover"])
    assert (got.persons, got.deliveries, got.unreferenced) == (9, 3, 2)


def test_only_the_outputs_purposes_count():
    entries = [_entry("delivery", GM, ["v1-a"]), _entry("profile_read", RN, ["v1-a"], purpose="jp"),
               {"event": "checkpoint", "at": "t1"}]
    assert [r.recipient for r in actual_recipients(entries, ["jp"])] == [RN]
