"""What the data steward sees, as they would: a quiet run with one line per step, a failure
that ends with the exact commands, and a `status` whose exit code tells the truth until
the quarantined batch is dealt with."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.conftest import CLIENTS, SEED, cli

FAULT = "dji:future_date=2"  # two detentions stamped in the future: the contract holds them
ANSI = re.compile(r"\x1b\[")


def _demo(home, *args: str):
    return cli(home, "demo", "--clients", str(CLIENTS), "--seed", str(SEED), *args)


def test_a_faulty_day_is_quiet_names_the_commands_and_status_stays_honest(tmp_path):
    home = tmp_path / "hub"
    faulty = _demo(home, "--faults", FAULT)
    assert faulty.returncode == 1, faulty.stdout[-3000:] + faulty.stderr[-3000:]
    out, err = faulty.stdout, faulty.stderr

    # Quiet: no dbt node lines, no Dagster log lines, no colour when piped; the full
    # output is in the log file the run names.
    assert len(out.splitlines()) < 100, len(out.splitlines())
    assert not ANSI.search(out + err)
    assert " START " not in out and " - dagster - " not in out + err
    (log,) = set(re.findall(r"^logs: (\S+)", out, re.M))
    assert Path(log).parent == home.resolve() / "logs"
    assert "Finished running" in Path(log).read_text()  # dbt's summary

    # One line per step, with counts: every dataset landed and judged, dbt, deliveries.
    for dataset in ("probation.clients", "dji.detentions", "care.episodes"):
        assert re.search(rf"^  landing\s+{re.escape(dataset)}\s+[\d.]+ s  \d+ received: "
                         rf"\d+ new, 0 unchanged, 0 rejected$", out, re.M), dataset
    (held,) = re.findall(r"^  contract\s+dji\.detentions\s+[\d.]+ s  QUARANTINED batch (\S+)$",
                         out, re.M)
    assert re.search(r"^  contract\s+probation\.clients\s+[\d.]+ s  passed$", out, re.M)
    assert re.search(r"^  dbt\s+build\s+[\d.]+ s  \d+ models and seeds built", out, re.M)
    assert re.search(r"^  delivery\s+warm_handover_packages\s+[\d.]+ s  \d+ delivered", out,
                     re.M)

    # The failure ends with what to do: the batch, the rule, the exact commands.
    assert "what to do:" in err
    assert f"dji.detentions: batch {held} is quarantined" in err
    assert re.search(r"^    failed: rule \S+ on \S+: 2 record\(s\)$", err, re.M), err
    for command in (f"ketenbrug quarantine show {held}",
                    f"ketenbrug quarantine release {held} --reason",
                    f"ketenbrug quarantine drop {held} --reason"):
        assert command in err, command
    assert "Traceback" not in out + err

    status = cli(home, "status")
    assert status.returncode == 1, status.stdout
    assert f"batch {held} (dji.detentions) is quarantined" in status.stdout
    assert "mart warm_handover is stale" in status.stdout

    # A later clean run does not make the held batch go away: status still says so.
    clean = _demo(home)
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    # Re-sent versions are unchanged, never rejections.
    assert re.search(r"^  landing\s+probation\.clients\s+[\d.]+ s  \d+ received: 0 new, "
                     r"[1-9]\d* unchanged, 0 rejected$", clean.stdout, re.M), clean.stdout
    report = cli(home, "status", "--json")
    assert report.returncode == 1
    document = json.loads(report.stdout)
    assert document["healthy"] is False
    assert [b["batch_id"] for b in document["open_quarantines"]] == [held]
    assert document["last_runs"]["hub"]["status"] == "SUCCESS"
    assert document["failed_checks"] == []

    dropped = cli(home, "quarantine", "drop", held, "--reason", "stamped in the future")
    assert dropped.returncode == 0, dropped.stderr
    again = _demo(home)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    healthy = cli(home, "status")
    assert healthy.returncode == 0, healthy.stdout
    assert healthy.stdout.rstrip().endswith("healthy")
