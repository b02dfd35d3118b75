"""The portal as its users meet it: Chromium, a running `ketenbrug portal`, a hub that ran.

Each role logs in and sees its own pages; others' pages are refused by direct URL with
the missing right named; a form with a forged CSRF token is refused; an idle session
ends; the officer finds a client by case number; the municipality downloads and
acknowledges its package; the privacy officer exports a subject-access report. Every
page visited is saved as a screenshot (tests/browser.py says where).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import duckdb
import pytest

from ketenbrug.privacy.bsn import is_valid_bsn
from ketenbrug.privacy.disclosure_log import read_log
from tests.browser import chromium, portal_process, screenshot
from tests.portal_support import PASSWORD, portal_users

pytestmark = pytest.mark.e2e

NOT_SHOWN = re.compile(r"\b(NaN|NaT|None|null)\b")


@pytest.fixture(scope="module")
def hub(demo_home):
    home = demo_home[0]
    users = portal_users(home)
    with portal_process(home) as url:
        yield home, url, users


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def logged_in(browser, url: str, login: str):
    page = browser.new_context().new_page()
    page.goto(f"{url}/")
    assert page.url.startswith(f"{url}/login"), page.url
    page.get_by_label("Login name").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{url}/")
    return page


def case_number_of(home, organisation: str) -> str:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        row = con.execute("select c.client_id from main.stg_probation__clients c join "
                          "main.client_profiles p on p.organisation = c.organisation "
                          "join privacy.domain_pseudonyms d on d.domain_pseudonym = "
                          "p.client_pseudonym and d.person_pseudonym = c.person_pseudonym "
                          "where c.organisation = ? order by c.client_id limit 1",
                          [organisation]).fetchone()
    return row[0]


@pytest.mark.parametrize("login, sees, not_sees", [
    ("officer-rn", "Cliënten", "Inbox"),
    ("gemeente-a", "Inbox", "Cliënten"),
    ("privacy", "Disclosure log", "Quarantaine"),
    ("steward", "Quarantaine", "Disclosure log"),
])
def test_each_role_logs_in_to_its_own_start_page(hub, browser, login, sees, not_sees):
    home, url, users = hub
    page = logged_in(browser, url, login)
    menu = page.get_by_role("navigation", name="Hoofdmenu")
    assert menu.get_by_role("link", name=sees).is_visible()
    assert menu.get_by_role("link", name=not_sees).count() == 0
    role, organisation = users[login]
    assert login in page.get_by_test_id("who").inner_text()
    screenshot(page, f"home-{login}")


def test_the_officer_finds_a_client_by_case_number_and_reads_the_file(hub, browser):
    home, url, _ = hub
    page = logged_in(browser, url, "officer-rn")
    page.get_by_role("link", name="Cliënten").first.click()
    caseload = page.get_by_test_id("caseload")
    assert "cliënt(en)" in caseload.locator("caption").inner_text()
    assert not NOT_SHOWN.search(caseload.inner_text())
    screenshot(page, "officer-caseload")
    page.get_by_test_id("next-page").click()
    assert "pagina 2 van" in page.get_by_test_id("caseload").locator("caption").inner_text()

    case_number = case_number_of(home, "RN")
    page.get_by_label("Zoek op zaaknummer of pseudoniem").fill(case_number.lower())
    page.get_by_role("button", name="Zoeken").click()
    page.wait_for_url(re.compile(r".*/clients/v\d+-[0-9a-f]{32}$"))
    assert case_number in page.get_by_test_id("case-numbers").inner_text()
    for table in ("basics", "orders", "freshness"):
        assert page.get_by_test_id(table).is_visible()
    assert not NOT_SHOWN.search(page.locator("main").inner_text())
    screenshot(page, "officer-client-file")

    read = [e for e in read_log(home / "audit" / "disclosures.jsonl")
            if e.get("event") == "profile_read"][-1]
    assert read["actor"] == {"subject": "officer-rn", "role": "probation_officer",
                             "organisation": "RN", "via": "portal-local"}
    assert read["persons"] == 1 and read["recipient"] == "probation_organisation:RN"


def test_another_organisations_case_number_is_not_found(hub, browser):
    home, url, _ = hub
    page = logged_in(browser, url, "officer-svg")
    page.goto(f"{url}/clients?q={case_number_of(home, 'RN')}")
    assert "no client of SVG has case number" in page.get_by_test_id("not-found").inner_text()
    screenshot(page, "officer-not-found")


def test_the_municipality_downloads_its_package_and_confirms_receipt(hub, browser):
    home, url, users = hub
    code = users["gemeente-a"][1]
    page = logged_in(browser, url, "gemeente-a")
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Inbox").click()
    packages = page.get_by_test_id("packages")
    assert not NOT_SHOWN.search(packages.inner_text())
    screenshot(page, "municipality-inbox")
    name = sorted(p.name for p in (home / "outbox" / code).glob("*.kbpkg"))[-1]
    with page.expect_download() as download:
        page.get_by_role("link", name=name).click()
    assert download.value.suggested_filename == name
    assert (home / "outbox" / code / name).read_bytes() == \
        Path(download.value.path()).read_bytes()
    page.get_by_role("button", name=f"Ontvangst bevestigen van {name}").click()
    page.wait_for_url(re.compile(r".*/gemeente/inbox\?done=acknowledged$"))
    assert "Ontvangst bevestigd" in page.get_by_role("status").inner_text()
    assert "bevestigd door gemeente-a" in page.get_by_test_id("packages").inner_text()
    screenshot(page, "municipality-receipt")
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Sleutel").click()
    assert page.get_by_test_id("fingerprint").inner_text()
    screenshot(page, "municipality-key")


def test_the_privacy_officer_exports_a_subject_access_report(hub, browser, world):
    home, url, _ = hub
    person = next(p for p in world.persons if is_valid_bsn(p["bsn"]))
    page = logged_in(browser, url, "privacy")
    menu = page.get_by_role("navigation", name="Hoofdmenu")
    for title, name in (("Lineage", "privacy-lineage"), ("Disclosure log", "privacy-log"),
                        ("Verwerkingsregister", "privacy-register"),
                        ("Bewaartermijnen", "privacy-retention")):
        menu.get_by_role("link", name=title).click()
        assert not NOT_SHOWN.search(page.locator("main").inner_text())
        screenshot(page, name)
    assert page.goto(f"{url}/privacy/lineage.svg").status == 200
    page.goto(f"{url}/privacy/subject-access")
    page.get_by_label("Kenmerk van het verzoek").fill("AVG 2026/101")
    page.get_by_label("BSN van de betrokkene").fill(person["bsn"])
    page.get_by_label("Vorm van het rapport").select_option("document")
    screenshot(page, "privacy-subject-access")
    with page.expect_download() as download:
        page.get_by_role("button", name="Rapport opstellen en downloaden").click()
    assert download.value.suggested_filename == "inzage-AVG_2026_101.html"
    document = Path(download.value.path()).read_text()
    assert person["surname"] in document and "Verstrekkingen" in document
    page.goto(f"{url}/privacy/subject-access")
    listed = page.get_by_test_id("requests").inner_text()
    assert "AVG 2026/101" in listed and person["bsn"] not in listed
    screenshot(page, "privacy-subject-access-answered")


def test_the_steward_sees_the_quarantine_and_contract_failures(hub, browser):
    _, url, _ = hub
    page = logged_in(browser, url, "steward")
    menu = page.get_by_role("navigation", name="Hoofdmenu")
    menu.get_by_role("link", name="Quarantaine").click()
    assert page.get_by_test_id("dagster-ui").get_attribute("href").startswith("http")
    screenshot(page, "steward-quarantine")
    menu.get_by_role("link", name="Contractfouten").click()
    assert page.get_by_test_id("rule-failures").is_visible()
    screenshot(page, "steward-contracts")


@pytest.mark.parametrize("login, path, right", [
    ("officer-rn", "/gemeente/inbox", "receive your municipality's packages"),
    ("officer-rn", "/privacy/disclosures", "read the disclosure log"),
    ("officer-rn", "/steward/quarantine", "release or drop quarantined batches"),
    ("gemeente-a", "/clients", "read client profiles"),
    ("gemeente-a", "/privacy/subject-access", "handle subject-access requests"),
    ("steward", "/privacy/lineage", "see the lineage"),
    ("privacy", "/clients", "read client profiles"),
    ("privacy", "/steward/quarantine", "release or drop quarantined batches"),
])
def test_others_pages_are_refused_by_direct_url_naming_the_right(hub, browser, login, path,
                                                                  right):
    home, url, _ = hub
    page = logged_in(browser, url, login)
    answer = page.goto(f"{url}{path}")
    assert answer.status == 403
    assert right in page.get_by_test_id("denied").inner_text()
    with sqlite3.connect(home / "portal" / "portal.sqlite") as con:
        logged = con.execute("select count(*) from access_events where subject = ? and "
                             "path = ? and outcome = 'denied'", [login, path]).fetchone()[0]
    assert logged >= 1
    screenshot(page, f"denied-{login}-{path.strip('/').replace('/', '-')}")


def test_a_form_with_a_forged_csrf_token_is_refused(hub, browser):
    _, url, _ = hub
    page = logged_in(browser, url, "officer-rn")
    page.locator("form[action='/logout'] input[name=csrf_token]").evaluate(
        "input => input.value = 'forged'")
    page.get_by_role("button", name="Uitloggen").click()
    assert "CSRF token is missing or wrong" in page.get_by_test_id("denied").inner_text()
    screenshot(page, "csrf-refused")
    page.goto(f"{url}/")
    assert page.url == f"{url}/"  # still logged in: the forged logout did nothing


def test_an_idle_session_ends_and_the_login_page_says_why(hub, browser):
    home, url, _ = hub
    page = logged_in(browser, url, "steward")
    with sqlite3.connect(home / "portal" / "portal.sqlite") as con:  # 16 minutes pass
        con.execute("update sessions set last_seen = last_seen - 960 where subject = ?",
                    ["steward"])
    page.goto(f"{url}/steward/quarantine")
    assert page.url.startswith(f"{url}/login")
    assert "Your session has ended" in page.locator("main").inner_text()
    screenshot(page, "session-expired")
