"""The municipality in the portal: its own inbox only, downloads that are the bytes the
hub sealed, receipts that name those bytes, and a key of its own that packages are
sealed to from the next run on."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from ketenbrug.delivery.recipient_keys import fingerprint
from ketenbrug.portal.accounts import add_user
from ketenbrug.portal.rights import Role
from ketenbrug.portal.store import PortalStore
from ketenbrug.privacy.disclosure_log import read_log
from tests.e2e.conftest import CLIENTS, SEED, cli
from tests.portal_support import PASSWORD, app_for, client_as, csrf_of, portal_users

pytestmark = pytest.mark.e2e


@pytest.fixture
def hub(demo_home, tmp_path):
    """A copy of the demo's hub, so receipts and keys made here stay here; without the
    portal's own store, which other tests (the browser's) may have used already."""
    copy = tmp_path / "hub"
    shutil.copytree(demo_home[0], copy, ignore=shutil.ignore_patterns("dagster_home",
                                                                       "portal"))
    users = portal_users(copy)
    return copy, users, app_for(copy)


def _packages(html: str) -> list[str]:
    return re.findall(r'href="/gemeente/packages/([^"]+)"', html)


def _ack_form(html: str, item: str) -> dict[str, str]:
    sha = re.search(rf'name="item" value="{re.escape(item)}">\s*'
                    r'<input type="hidden" name="sha256" value="([0-9a-f]{64})"', html)
    assert sha, f"no receipt form for {item}"
    return {"csrf_token": csrf_of(html), "item": item, "sha256": sha.group(1)}


def test_the_inbox_lists_and_serves_only_the_municipalitys_own_files(hub):
    home, users, app = hub
    code_a, code_b = users["gemeente-a"][1], users["gemeente-b"][1]
    a, b = client_as(home, "gemeente-a", app), client_as(home, "gemeente-b", app)
    page = a.get("/gemeente/inbox")
    assert page.status_code == 200
    names = _packages(page.text)
    assert names == sorted(p.name for p in (home / "outbox" / code_a).glob("*.kbpkg"))
    download = a.get(f"/gemeente/packages/{names[0]}")
    assert download.status_code == 200
    assert download.content == (home / "outbox" / code_a / names[0]).read_bytes()
    assert "attachment" in download.headers["content-disposition"]
    # What the log says was delivered in it is shown beside it.
    delivered = [e for e in read_log(home / "audit" / "disclosures.jsonl")
                 if e.get("event") == "delivery" and e.get("recipient") ==
                 f"municipality:{code_a}" and e.get("package") == names[0]]
    assert f"<td>{delivered[-1]['persons']}</td>" in page.text
    # Another municipality's package is not in b's inbox, under any spelling.
    assert code_a != code_b
    for path in (f"/gemeente/packages/{names[0]}"
                 if names[0] not in _packages(b.get("/gemeente/inbox").text) else None,
                 "/gemeente/packages/..%2F" + code_a + "%2F" + names[0],
                 "/gemeente/packages/..%2F..%2Fkeys%2Fmaster-v1.key",
                 "/gemeente/billing/2026-01/..%2F..%2Fhub-signing.pub"):
        if path:
            answer = b.get(path)
            assert answer.status_code == 404, path
            assert answer.content != download.content


def test_a_billing_statement_is_downloadable_with_its_signed_manifest(hub):
    home, _, app = hub
    code = next(p.parents[2].name for p in sorted((home / "outbox").glob(
        "GM*/billing/*/manifest.json")))
    month = next((home / "outbox" / code / "billing").iterdir()).name
    login = f"billing-{code.lower()}"
    add_user(PortalStore(home), login, Role.MUNICIPALITY, code, PASSWORD)
    client = client_as(home, login, app)
    page = client.get("/gemeente/inbox")
    files = re.findall(rf'href="/gemeente/billing/{month}/([^"]+)"', page.text)
    assert {"manifest.json", "manifest.sig"} <= set(files)
    for name in files:
        served = client.get(f"/gemeente/billing/{month}/{name}")
        assert served.status_code == 200
        assert served.content == (home / "outbox" / code / "billing" / month / name
                                  ).read_bytes()


def test_a_receipt_names_the_bytes_acknowledged_and_who_did_it(hub):
    home, users, app = hub
    code = users["gemeente-a"][1]
    client = client_as(home, "gemeente-a", app)
    page = client.get("/gemeente/inbox")
    name = _packages(page.text)[0]
    form = _ack_form(page.text, name)

    stale = dict(form, sha256="0" * 64)  # the package was replaced since the page was read
    refused = client.post("/gemeente/acknowledge", data=stale)
    assert refused.status_code == 409 and "changed since you opened" in refused.text
    forged = client.post("/gemeente/acknowledge", data=dict(form, csrf_token="x" * 43))
    assert forged.status_code == 403

    log = home / "audit" / "disclosures.jsonl"
    logged_before = len(read_log(log))
    done = client.post("/gemeente/acknowledge", data=form)
    assert done.headers["location"] == "/gemeente/inbox?done=acknowledged"
    again = client.post("/gemeente/acknowledge", data=form)
    assert again.headers["location"] == "/gemeente/inbox?done=already"
    assert "bevestigd door gemeente-a" in client.get("/gemeente/inbox").text

    with sqlite3.connect(home / "portal" / "portal.sqlite") as con:
        assert con.execute("select organisation, package, sha256, acknowledged_by "
                           "from receipts").fetchall() == [
            (code, name, form["sha256"], "gemeente-a")]
    acknowledged = [e for e in read_log(log)[logged_before:]
                    if e.get("event") == "receipt_acknowledged"]
    assert len(acknowledged) == 1
    assert acknowledged[0]["sha256"] == form["sha256"]
    assert acknowledged[0]["actor"] == {"subject": "gemeente-a", "role": "municipality",
                                        "organisation": code, "via": "portal-local"}
    # Another municipality cannot acknowledge it: not in its inbox.
    other = client_as(home, "gemeente-b", app)
    token = csrf_of(other.get("/gemeente/inbox").text)
    assert other.post("/gemeente/acknowledge",
                      data=dict(form, csrf_token=token)).status_code in (404, 409)


def test_after_registering_its_key_the_next_package_opens_only_with_that_key(hub, tmp_path):
    home, users, app = hub
    code = users["gemeente-a"][1]
    client = client_as(home, "gemeente-a", app)
    own = X25519PrivateKey.generate()
    pem = own.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    page = client.get("/gemeente/key")
    unchecked = client.post("/gemeente/key", data={"csrf_token": csrf_of(page.text),
                                                   "public_key": pem.decode()})
    assert unchecked.status_code == 422
    done = client.post("/gemeente/key", data={"csrf_token": csrf_of(page.text),
                                              "public_key": pem.decode(),
                                              "fingerprint_checked": "yes"})
    assert done.status_code == 303
    page = client.get("/gemeente/key")
    assert fingerprint(own.public_key()) in page.text
    logged = [e for e in read_log(home / "audit" / "disclosures.jsonl")
              if e.get("event") == "recipient_key_registered"]
    assert [(e["recipient"], e["actor"]["subject"]) for e in logged] == [
        (f"municipality:{code}", "gemeente-a")]

    rerun = cli(home, "demo", "--clients", str(CLIENTS), "--seed", str(SEED))
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    package = sorted((home / "outbox" / code).glob("*.kbpkg"))[-1]
    own_key = tmp_path / "own" / f"{code}.key"
    own_key.parent.mkdir(mode=0o700)
    own_key.write_bytes(own.private_bytes_raw())
    own_key.chmod(0o600)
    hub_key = home / "outbox" / code / "hub-signing.pub"
    opened = cli(home, "extract", "open", str(package), "--key", str(own_key),
                 "--hub-key", str(hub_key), "--out", str(tmp_path / "opened"), "--json")
    assert opened.returncode == 0, opened.stderr[-2000:]
    assert json.loads(opened.stdout)
    stand_in = home / "keys" / "recipients" / f"{code}.key"
    refused = cli(home, "extract", "open", str(package), "--key", str(stand_in),
                  "--hub-key", str(hub_key), "--out", str(tmp_path / "stand-in"))
    assert refused.returncode != 0
    assert not (tmp_path / "stand-in").exists()
