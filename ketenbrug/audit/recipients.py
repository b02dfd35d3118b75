"""Who actually received an output, from the disclosure log: per recipient the distinct
persons disclosed to it and the number of deliveries (or reads) that carried them.

Persons are counted by their `subject_refs` (privacy.subject_refs: one reference per
person, the same in every entry), so a package delivered again, or a client read twice,
counts once. An entry written without references (an older log) adds its `persons`
count instead, and the recipient says how many such entries it holds: there a person
may be counted more than once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The hub's own step before a delivery to the same recipient, about the same persons:
# it is listed among the events but is not itself a delivery.
_PREPARATORY = frozenset({"reidentification"})


@dataclass(frozen=True)
class ActualRecipient:
    recipient: str  # `<kind>:<id>`, as the disclosure log writes it
    persons: int  # distinct persons received over all its deliveries
    deliveries: int  # entries that disclosed data to it (deliveries, reads of someone)
    last_at: str
    events: tuple[str, ...]
    unreferenced: int = 0  # deliveries without subject_refs whose `persons` were added


def actual_recipients(entries: Iterable[dict], purposes: Iterable[str]
                      ) -> list[ActualRecipient]:
    """Return, sorted by recipient, those that received data of any of `purposes`.

    A recipient is listed only when it received at least one person, or a delivery that
    holds no personal data by design (a billing statement): a read that returned nobody
    discloses nothing. Refuses nothing; entries of other purposes are ignored.
    """
    wanted = set(purposes)
    grouped: dict[str, list[dict]] = {}
    for entry in entries:
        if entry.get("purpose") in wanted and entry.get("recipient"):
            grouped.setdefault(str(entry["recipient"]), []).append(entry)
    found = [_recipient(name, items) for name, items in sorted(grouped.items())]
    return [r for r in found if r is not None]


def _carried(entry: dict) -> bool:
    """Whether the entry disclosed anything: a person, or a delivery (a billing statement
    holds no personal data but is delivered all the same)."""
    return (_persons(entry) > 0 or bool(entry.get("subject_refs"))
            or entry.get("event") == "delivery")


def _persons(entry: dict) -> int:
    count = entry.get("persons")
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def _recipient(name: str, entries: list[dict]) -> ActualRecipient | None:
    carried = [e for e in entries if _carried(e)]
    received = [e for e in carried if e.get("event") not in _PREPARATORY]
    if not received:
        return None
    refs: set[str] = set()
    added = unreferenced = 0
    for entry in received:
        if isinstance(entry.get("subject_refs"), list):
            refs.update(map(str, entry["subject_refs"]))
        elif _persons(entry) > 0:
            added += _persons(entry)
            unreferenced += 1
    return ActualRecipient(
        recipient=name, persons=len(refs) + added, deliveries=len(received),
        last_at=max(str(e.get("at", "")) for e in received),
        events=tuple(sorted({str(e.get("event")) for e in carried})),
        unreferenced=unreferenced)
