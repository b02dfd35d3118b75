"""The block a failed run ends with: which batch, which rule, and the exact commands."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ketenbrug.cli.run import RunOutcome
    from ketenbrug.stewardship.status import HubStatus

# A verdict names record keys after the rule ("…: 2 record(s), keys A, B"); the block
# names the rule and the count, and `quarantine show` the keys.
_KEYS = re.compile(r", keys .*$")


def what_to_do(hub: HubStatus, outcome: RunOutcome) -> str:
    """What the steward does next, one item per held batch or failed step."""
    lines = ["what to do:"]
    for held in hub.open_quarantines:
        batch = held["batch_id"]
        rules = [_KEYS.sub("", rule) for rule in (held["verdict"] or "").split("; ") if rule]
        lines += [f"  {held['source']}.{held['dataset']}: batch {batch} is quarantined "
                  f"({held['quarantined']} records held back)"]
        lines += [f"    failed: {rule}" for rule in rules[:3]]
        if len(rules) > 3:
            lines.append(f"    and {len(rules) - 3} more rule(s)")
        lines += [f"    see the records:  ketenbrug quarantine show {batch}",
                  f"    after a fix:      ketenbrug quarantine release {batch} "
                  "--reason \"what was fixed\"",
                  f"    or reject them:   ketenbrug quarantine drop {batch} "
                  "--reason \"why\"  (the next run asks the source again)"]
    for step in outcome.failed_steps:
        lines.append(f"  step {step} failed: its error is in the log"
                     + (f" ({outcome.log})" if outcome.log else "")
                     + " and in the Dagster UI (`make ui`); the next run retries it")
    if len(lines) == 1:
        lines.append("  see `ketenbrug status` and the log"
                     + (f" {outcome.log}" if outcome.log else ""))
    return "\n".join(lines) + "\n"
