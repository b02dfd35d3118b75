"""The portal in a real browser: a `ketenbrug portal` process and the system's Chromium.

The browser is Debian's Chromium (/usr/bin/chromium, installed by `make test`), driven by
Playwright without any browser download. Chromium starts with the flags this machine
needs (no sandbox as root, and no background networking: the machine has no network
beyond loopback). Screenshots go to artifacts/portal/ (KETENBRUG_ARTIFACTS overrides).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

CHROMIUM = Path(os.environ.get("KETENBRUG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("KETENBRUG_ARTIFACTS",
                                Path(__file__).resolve().parent.parent / "artifacts")) / "portal"
HUB_VARS = ("KETENBRUG_WAREHOUSE", "KETENBRUG_VAULT", "KETENBRUG_KEYS_DIR", "DAGSTER_HOME",
            "KETENBRUG_OUTBOX", "KETENBRUG_DISCLOSURE_LOG", "KETENBRUG_DELIVERY_URL",
            "KETENBRUG_FAILPOINT")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def portal_process(home: Path, **env_vars: str) -> Iterator[str]:
    """`ketenbrug portal` serving `home`; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in HUB_VARS}
    env.update(env_vars, KETENBRUG_HOME=str(home))
    process = subprocess.Popen([sys.executable, "-m", "ketenbrug.cli", "portal", "--port",
                                str(port)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the portal did not start: {process.stdout.read()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def chromium() -> Iterator[object]:
    """A Playwright Browser on the system's Chromium; Playwright gives each launch a new,
    empty profile of its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def unlabelled_fields(page) -> list[str]:
    """The form fields of `page` a screen reader could not name (no <label>, no aria)."""
    return page.eval_on_selector_all(
        "input:not([type=hidden]), select, textarea",
        "fields => fields.filter(f => f.labels.length === 0 && !f.getAttribute('aria-label'))"
        ".map(f => f.outerHTML)")


def screenshot(page, name: str) -> Path:
    """Save the page as artifacts/portal/<name>.png; first check every field is labelled
    and the page has one main heading (what keyboard and screen-reader users rely on)."""
    assert not unlabelled_fields(page), unlabelled_fields(page)
    assert page.locator("h1").count() == 1, f"{name}: not one <h1>"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
