"""A failure stays in its lane: one dataset's batch in quarantine holds back that batch,
and nothing else. Every mart and delivery still builds, billing included; what reads
the quarantined source uses its last published data and says how old that is."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from dagster import DagsterInstance

from ketenbrug.config import Settings, source_env
from ketenbrug.pipelines.assets.run_options import run_options
from ketenbrug.pipelines.definitions import build_definitions
from ketenbrug.pipelines.partitions import billing_months, closed_months, range_tags
from ketenbrug.privacy import open_package
from ketenbrug.privacy.sealing import load_private_key
from ketenbrug.simulators import WorldServer, generate_world

CHECKOUT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 29)
MARTS = {"client_profiles", "client_orders", "warm_handover", "volume_monitor",
         "billing_statements", "statutory_priority_guard"}


def _run_hub(home: Path, server, **options: bool):
    """The hub job, then the billing job over every closed month, as `ketenbrug run` runs
    them."""
    os.environ.update(Settings.for_home(home).export())
    for slug, url in server.base_urls.items():
        url_var, credential_var = source_env(slug)
        os.environ[url_var] = url
        os.environ[credential_var] = server.credentials[slug]
    os.environ["KETENBRUG_AS_OF_DATE"] = TODAY.isoformat()
    # Built from the environment just set, as a deployment's code server builds them.
    settings = Settings.load()
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    hub = defs.resolve_job_def("hub").execute_in_process(
        run_config=run_options("hub", **options), instance=instance, raise_on_error=False)
    closed = closed_months(billing_months(settings.billing_first_month), TODAY)
    assert closed is not None
    billing = defs.resolve_job_def("billing").execute_in_process(
        run_config=run_options("billing", **options), instance=instance,
        tags=range_tags(closed), raise_on_error=False)
    return hub, billing


def _materialised(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _manifests(home: Path) -> list[dict]:
    hub_key = Ed25519PublicKey.from_public_bytes((home / "keys/hub-signing.pub").read_bytes())
    opened = []
    for package in sorted(home.glob("outbox/*/*.kbpkg")):
        key = load_private_key(home / "keys" / "recipients" / f"{package.parent.name}.key")
        opened.append(open_package(package.read_bytes(), recipient_id=package.parent.name,
                                   recipient_key=key, hub_key=hub_key).manifest)
    return opened


def test_a_quarantined_dataset_holds_back_its_batch_and_nothing_else(tmp_path):
    # Two hub runs as a deployment runs them: in a process of their own, whose environment
    # (the resources' EnvVars) is theirs alone. The dbt asset sets KETENBRUG_WAREHOUSE in
    # its process, so earlier in-process runs leave hub variables behind: none is passed on.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KETENBRUG_") and k != "DAGSTER_HOME"}
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from tests.integration.test_failure_lanes "
         "import scenario; scenario(sys.argv[1])", str(tmp_path / "hub")],
        cwd=CHECKOUT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-5000:]


def scenario(home_path: str) -> None:
    """A clean run, then a run in which DJI's correction breaks its contract."""
    home = Path(home_path)
    world = generate_world(clients=150, seed=17, today=TODAY)
    with WorldServer(world) as server:
        first, first_billing = _run_hub(home, server)
    assert first.success and all(e.passed for e in first.get_asset_check_evaluations())
    assert first_billing.success

    # The prison service then corrects a detention, and sends a malformed prison code.
    broken = copy.deepcopy(world)
    newest = max(d["updated_at"] for d in broken.detentions)
    detention = broken.detentions[3]
    good_code = detention["prison_code"]
    detention["prison_code"] = "pi nowhere"
    detention["updated_at"] = (datetime.fromisoformat(newest.replace("Z", "+00:00"))
                               + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Redelivered: the held-back correction leaves every package's content as it was, so
    # by default nothing would be sent again and the outbox would hold only the first
    # run's manifests, which cannot tell that DJI went stale since.
    with WorldServer(broken) as server:
        second, billing = _run_hub(home, server, redeliver=True)

    assert second.success  # no step failed: the quarantine is the contract check's verdict
    assert billing.success
    failed = {(e.asset_key.to_user_string(), e.check_name)
              for e in second.get_asset_check_evaluations() if not e.passed}
    assert failed == {("landing/dji__detentions", "contract")}
    built = _materialised(second) | _materialised(billing)
    assert built >= MARTS  # billing and every statutory mart built, none held back
    assert {"delivery/warm_handover_packages", "delivery/billing_statements_delivery"} <= built

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (staged,) = con.execute("select prison_code from main.stg_dji__detentions "
                                "where detention_id = ?",
                                [detention["registration_number"]]).fetchone()
        dji_published, dji_latest = con.execute(
            "select max(received_at) filter (where status = 'passed'), max(received_at) "
            "from landing._batches where dataset = 'detentions'").fetchone()
    assert staged == good_code  # the last published version, never the quarantined one
    assert dji_published < dji_latest

    manifests = _manifests(home)
    assert manifests
    for manifest in manifests:
        as_of = manifest["source_as_of"]
        assert as_of["dji.detentions"] == dji_published.isoformat(timespec="seconds") + "Z"
        assert as_of["dji.detentions"] < as_of["probation.clients"]  # says it is stale
