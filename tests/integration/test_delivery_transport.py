"""Delivery by HTTP POST: retried until taken, and received once however often it is sent."""

import pytest

from ketenbrug.delivery.transport import (
    DeliveryError,
    idempotency_key,
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
