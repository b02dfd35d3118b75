"""Delivery by HTTP POST: retried until taken, and received once however often it is sent."""

import pytest

from ketenbrug.delivery.transport import (
    DeliveryError,
    idempotency_key,
    package_sha256,
    recover_outbox,
    stage_in_outbox,
    to_endpoint,
    to_outbox,
)
from ketenbrug.simulators.recipient import RecipientEndpoint

KEY = idempotency_key("GM0363", "warm_handover", "2026-11-29", "ab" * 32)


def test_a_busy_endpoint_is_retried_and_takes_the_package_once():
    with RecipientEndpoint(fail_first=2) as endpoint:
        first = to_endpoint(endpoint.url_template, "GM0363", "p.kbpkg", b"sealed", KEY,
                            backoff_s=0.01)
        again = to_endpoint(endpoint.url_template, "GM0363", "p.kbpkg", b"sealed", KEY,
                            backoff_s=0.01)
        assert not first.duplicate and again.duplicate
        assert endpoint.requests == 4  # two refused, one taken, one replay
        assert list(endpoint.received.values()) == [("GM0363", b"sealed")]


def test_an_endpoint_that_stays_down_is_a_clear_error():
    with RecipientEndpoint(fail_first=100) as endpoint, \
            pytest.raises(DeliveryError, match="delivery to GM0363"):
        to_endpoint(endpoint.url_template, "GM0363", "p.kbpkg", b"x", KEY, retries=2,
                    backoff_s=0.01)


def test_the_key_follows_the_content_not_the_sealing():
    assert idempotency_key("GM0363", "warm_handover", "2026-11-29", "ab" * 32) == KEY
    assert idempotency_key("GM0014", "warm_handover", "2026-11-29", "ab" * 32) != KEY


def test_the_outbox_never_shows_half_a_package(tmp_path):
    delivered = to_outbox(tmp_path, "GM0363", "p.kbpkg", b"sealed")
    assert (tmp_path / "GM0363" / "p.kbpkg").read_bytes() == b"sealed"
    assert delivered.where.endswith("GM0363/p.kbpkg")
    assert not list(tmp_path.rglob("*.partial"))


def test_recovery_of_packages_leaves_the_billing_delivery_s_staged_folder_alone(tmp_path):
    """On the multiprocess executor the two delivery steps run at once: the handover
    step's recovery of a killed run's packages must not touch (or trip over) the folder
    the billing step is staging."""
    staged_package = stage_in_outbox(tmp_path, "GM0363", "warm_handover_2026-12-01.kbpkg",
                                     b"sealed")
    billing = tmp_path / "GM0363" / "billing" / "2026-11.partial"
    billing.mkdir(parents=True)
    (billing / "manifest.json").write_text("{}")
    logged = {(str(staged_package.with_name("warm_handover_2026-12-01.kbpkg")),
               package_sha256(b"sealed"))}
    assert recover_outbox(tmp_path, logged) == (1, 0)
    assert (tmp_path / "GM0363" / "warm_handover_2026-12-01.kbpkg").read_bytes() == b"sealed"
    assert (billing / "manifest.json").read_text() == "{}"
