"""The data steward in the portal: a quarantined batch found, understood and decided on,
with a reason, under the hub's lock, recorded as the logged-in steward's decision."""

from __future__ import annotations

import re
import shutil

import pytest

from ketenbrug import run_lock
from tests.e2e.conftest import CLIENTS, SEED, cli
from tests.portal_support import app_for, client_as, csrf_of, portal_users

pytestmark = pytest.mark.e2e

FAULT = "dji:future_date=2"  # two detentions stamped in the future: the contract holds them
BSN_LIKE = re.compile(r"\b\d{9}\b")


@pytest.fixture(scope="module")
def faulty_home(tmp_path_factory):
    """A hub whose run quarantined one batch of dji.detentions."""
    home = tmp_path_factory.mktemp("faulty") / "hub"
    run = cli(home, "demo", "--clients", str(CLIENTS), "--seed", str(SEED), "--faults", FAULT)
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]  # held, as it should
    return home


@pytest.fixture
def hub(faulty_home, tmp_path):
    copy = tmp_path / "hub"
    shutil.copytree(faulty_home, copy, ignore=shutil.ignore_patterns("dagster_home"))
    portal_users(copy)
    app = app_for(copy)
    return copy, client_as(copy, "steward", app), app


def _held_batch(page_html: str) -> str:
    (batch_id,) = re.findall(r'href="/steward/quarantine/(dji__detentions-[^"]+)"', page_html)
    return batch_id


def _undecided(steward, batch_id: str) -> bool:
    """Still quarantined, and no decision recorded."""
    page = steward.get(f"/steward/quarantine/{batch_id}").text
    return "quarantined (contract" in page and 'data-testid="decision"' not in page


def test_the_quarantine_lists_the_held_batch_and_shows_why(hub):
    home, steward, _ = hub
    listed = steward.get("/steward/quarantine")
    assert listed.status_code == 200
    batch_id = _held_batch(listed.text)
    assert 'href="http://127.0.0.1:3000"' in listed.text  # the Dagster UI, linked
    # received = staged + quarantined + unchanged + rejected: the whole batch is held
    assert re.search(r"<td>(\d+) = 0 \+ \1 \+ 0 \+ 0</td>", listed.text)
    assert not BSN_LIKE.search(listed.text)
    shown = steward.get(f"/steward/quarantine/{batch_id}")
    assert shown.status_code == 200
    assert re.search(r"<li>rule \S+ on \S+: 2 record\(s\), keys [^<]+</li>", shown.text)
    assert "quarantined (contract v" in shown.text
    assert not BSN_LIKE.search(shown.text)
    assert steward.get("/steward/quarantine/no-such-batch").status_code == 404


def test_a_decision_needs_a_reason_and_is_the_logged_in_stewards(hub):
    home, steward, _ = hub
    batch_id = _held_batch(steward.get("/steward/quarantine").text)
    page = steward.get(f"/steward/quarantine/{batch_id}")
    token = csrf_of(page.text)

    for way in ("release", "drop"):
        no_reason = steward.post(f"/steward/quarantine/{batch_id}/{way}",
                                 data={"csrf_token": token, "reason": "  "})
        assert no_reason.status_code == 422 and "heeft een reden nodig" in no_reason.text
    for refused in ({"csrf_token": "forged", "reason": "x"}, {"reason": "x"}):
        assert steward.post(f"/steward/quarantine/{batch_id}/drop",
                            data=refused).status_code == 403
    assert _undecided(steward, batch_id)
    still_failing = steward.post(f"/steward/quarantine/{batch_id}/release",
                                 data={"csrf_token": token, "reason": "looked fine"})
    assert still_failing.status_code == 409
    assert re.search(r"still fails contract \S+ v[\d.]+: rule \S+", still_failing.text)
    assert _undecided(steward, batch_id)

    dropped = steward.post(f"/steward/quarantine/{batch_id}/drop",
                           data={"csrf_token": token, "reason": "stamped in the future"})
    assert dropped.status_code == 303
    after = steward.get(dropped.headers["location"])
    assert "Verworpen" in after.text and "dropped (contract" in after.text
    decision = re.search(r'<tr data-testid="decision"><td>(\w+)</td><td>([^<]+)</td>',
                         after.text)
    assert decision and decision.groups() == ("dropped", "steward")
    assert "stamped in the future" in after.text and not BSN_LIKE.search(after.text)
    # The CLI sees the same decision, by the same person.
    shown = cli(home, "quarantine", "show", batch_id)
    assert "decision dropped by steward" in shown.stdout
    assert batch_id not in steward.get("/steward/quarantine").text


def test_while_a_run_holds_the_hub_a_decision_waits_and_changes_nothing(hub):
    home, steward, _ = hub
    batch_id = _held_batch(steward.get("/steward/quarantine").text)
    token = csrf_of(steward.get(f"/steward/quarantine/{batch_id}").text)
    # flock conflicts between two open()s of run.lock even in one process: no subprocess.
    with run_lock.hold(home, what="hub run"):
        busy = steward.post(f"/steward/quarantine/{batch_id}/drop",
                            data={"csrf_token": token, "reason": "stamped in the future"})
    assert busy.status_code == 503 and "hub run" in busy.text
    assert _undecided(steward, batch_id)


def test_contract_failures_are_listed_by_rule_with_the_open_batch(hub):
    home, steward, _ = hub
    batch_id = _held_batch(steward.get("/steward/quarantine").text)
    page = steward.get("/steward/contracts")
    assert page.status_code == 200
    row = re.search(r'<tr data-testid="rule-failure">\s*<td>dji\.detentions</td>'
                    r'<td class="mono">(\S+)</td>.*?<td>1</td><td>2</td>', page.text, re.S)
    assert row, page.text
    assert f'href="/steward/quarantine/{batch_id}"' in page.text
    assert not BSN_LIKE.search(page.text)
    officer = client_as(home, "officer-rn", app_for(home))
    assert officer.get("/steward/contracts").status_code == 403
