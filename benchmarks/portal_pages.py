"""Page timings of the portal on a hub that has run: each page over real HTTP.

    .venv/bin/python benchmarks/portal_pages.py HOME [--repeat 10]

HOME is a hub after `ketenbrug demo --clients 100000` (say). The script adds one local
account per role (if missing), starts `ketenbrug portal` on a free port, logs each in as
a browser would, and prints per page the median and the slowest of `--repeat` requests
(server time plus loopback; the disclosure-log append each officer read makes included).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import duckdb
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import portal_process  # noqa: E402
from tests.portal_support import PASSWORD, portal_users  # noqa: E402


def session_for(url: str, login: str) -> requests.Session:
    browser = requests.Session()
    form = browser.get(f"{url}/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    # The cookies are Secure: requests sends them over http only to localhost if told so.
    for cookie in browser.cookies:
        cookie.secure = False
    done = browser.post(f"{url}/login", data={"login": login, "password": PASSWORD,
                                              "csrf_token": token, "next": "/"},
                        allow_redirects=False)
    assert done.status_code == 303, done.text[:500]
    for cookie in browser.cookies:
        cookie.secure = False
    return browser


def timed(browser: requests.Session, url: str, repeat: int) -> tuple[float, float, int]:
    times, status = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        answer = browser.get(url, allow_redirects=False)
        times.append(time.perf_counter() - started)
        status = answer.status_code
    return statistics.median(times), max(times), status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    home = args.home.resolve()
    portal_users(home)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        clients = con.execute("select count(*) from main.client_profiles").fetchone()[0]
        case, pseudonym = con.execute(
            "select c.client_id, d.domain_pseudonym from main.stg_probation__clients c "
            "join privacy.domain_pseudonyms d on d.person_pseudonym = c.person_pseudonym "
            "and d.domain = c.organisation where c.organisation = 'RN' "
            "order by c.client_id desc limit 1").fetchone()
        entries = sum(1 for _ in (home / "audit" / "disclosures.jsonl").open())
    print(f"hub {home}: {clients} client profiles, {entries} disclosure-log entries")
    pages = {
        "officer-rn": ["/clients", "/clients?page=1000", "/clients?condition=missing_basics",
                       f"/clients?q={case}", f"/clients/{pseudonym}"],
        "gemeente-a": ["/gemeente/inbox", "/gemeente/key"],
        "privacy": ["/privacy/disclosures", "/privacy/disclosures?recipient=municipality",
                    "/privacy/lineage", "/privacy/register", "/privacy/subject-access",
                    "/privacy/retention"],
        "steward": ["/steward/quarantine", "/steward/contracts"],
    }
    with portal_process(home) as url:
        print(f"{'page':<48} {'median':>9} {'slowest':>9}  status")
        for login, paths in pages.items():
            browser = session_for(url, login)
            for path in paths:
                median, slowest, status = timed(browser, url + path, args.repeat)
                print(f"{login + ' ' + path[:40]:<48} {median * 1000:7.0f}ms "
                      f"{slowest * 1000:7.0f}ms  {status}")


if __name__ == "__main__":
    main()
