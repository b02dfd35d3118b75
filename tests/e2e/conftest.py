"""One demo run (twice, as a user would) shared by every end-to-end test module.

Under pytest-xdist the session fixtures are per worker: a worker that runs a module of
these makes its own `demo_home` (both modules usually land on one worker, see pyproject).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ketenbrug.simulators import generate_world
from ketenbrug.simulators.recipient import RecipientEndpoint

CLIENTS, SEED = 300, 4242
# KETENBRUG_FAILPOINT too: these hubs share the test process's group, which a stray
# failpoint would kill (the pytest run, every xdist worker with it).
HUB_VARS = ("KETENBRUG_WAREHOUSE", "KETENBRUG_VAULT", "KETENBRUG_KEYS_DIR", "DAGSTER_HOME",
             "KETENBRUG_OUTBOX", "KETENBRUG_DISCLOSURE_LOG", "KETENBRUG_DELIVERY_URL",
             "KETENBRUG_FAILPOINT")


def cli(home: Path, *args: str, timeout: int = 900,
        **env_vars: str) -> subprocess.CompletedProcess:
    """Run `ketenbrug ARGS` as a user would, against the hub in `home`."""
    env = {k: v for k, v in os.environ.items() if k not in HUB_VARS}
    env.update(env_vars, KETENBRUG_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "ketenbrug.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def mart_rows(output: str) -> dict[str, int]:
    return {m: int(n) for m, n in re.findall(r"^\s+(\w+)\s+(\d+) rows$", output, re.M)}


@pytest.fixture(scope="session")
def recipient_endpoint():
    with RecipientEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory, recipient_endpoint):
    """The demo run twice: first delivering to the outbox, then by HTTP POST."""
    home = tmp_path_factory.mktemp("hub")
    runs = []
    for channel in ("", recipient_endpoint.url_template):
        done = cli(home, "demo", "--clients", str(CLIENTS), "--seed", str(SEED),
                   KETENBRUG_DELIVERY_URL=channel)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        runs.append(done.stdout)
    return home, runs[0], runs[1]


@pytest.fixture(scope="session")
def world():
    return generate_world(clients=CLIENTS, seed=SEED)
