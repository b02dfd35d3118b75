"""The real connectors against injected faults: they recover from transient ones (429, 503,
dropped connections, slow answers) and name the source when a fault persists."""

from __future__ import annotations

from datetime import date

import pytest

from ketenbrug import connectors
from ketenbrug.simulators import WorldServer, generate_world

TODAY = date(2026, 11, 29)
DATASETS = {
    "probation": "orders",
    "dji": "detentions",
    "wijkteam": "involvements",
    "care": "episodes",
    "municipal_orders": "bookings",
}


@pytest.fixture(scope="module")
def world():
    # Big enough for every dataset to span more than one page of its connector.
    return generate_world(clients=1000, seed=33, today=TODAY)


def _pull(server, slug, **settings):
    options = {"backoff_factor_s": 0.01, "max_retries": 3, "read_timeout_s": 0.2, **settings}
    connector = connectors.CONNECTORS[slug](
        connectors.HttpSettings(server.base_urls[slug], server.credentials[slug], **options))
    try:
        return connector.pull(DATASETS[slug])
    finally:
        connector.close()


def _keys(extract):
    key = extract.manifest.record_key
    return sorted(allowed.fields[key] for allowed, _ in extract.records)


@pytest.fixture(scope="module")
def clean(server):
    """The keys each connector pulls without faults."""
    server.set_faults("")
    return {slug: _keys(_pull(server, slug)) for slug in DATASETS}


@pytest.mark.parametrize("slug", sorted(DATASETS))
@pytest.mark.parametrize("fault", ["429=0x2", "503x2", "dropx2", "slow=0.5x1"])
def test_connectors_recover_from_transient_faults(server, clean, slug, fault):
    server.set_faults(f"{slug}:{fault}")
    try:
        extract = _pull(server, slug)
        served = server.served_faults()[slug]
    finally:
        server.set_faults("")
    assert len(served) == (1 if fault.startswith("slow") else 2)  # the fault did happen
    assert _keys(extract) == clean[slug]


def test_connector_honours_retry_after(server, clean):
    server.set_faults("dji:429=1x1")
    try:
        extract = _pull(server, "dji", backoff_factor_s=0)
    finally:
        server.set_faults("")
    assert _keys(extract) == clean["dji"]


@pytest.mark.parametrize("slug", sorted(DATASETS))
def test_persistent_500_raises_source_error_naming_the_source(server, slug):
    server.set_faults(f"{slug}:500x*")
    try:
        with pytest.raises(connectors.SourceError, match=rf"^{slug}: GET /\S* answered 500"):
            _pull(server, slug)
        # One first try and three retries, then the connector gives up.
        assert len(server.served_faults()[slug]) == 4
    finally:
        server.set_faults("")


@pytest.mark.parametrize("kind", ["truncated", "malformed"])
def test_a_broken_json_answer_is_asked_again_and_nothing_is_lost(server, clean, kind):
    server.set_faults(f"care:{kind}")
    try:
        extract = _pull(server, "care")
    finally:
        server.set_faults("")
    assert sorted(set(_keys(extract))) == clean["care"]


@pytest.mark.parametrize("kind", ["truncated", "malformed"])
def test_persistently_broken_json_raises_source_error_naming_the_source(server, kind):
    server.set_faults(f"care:{kind}x*")
    try:
        with pytest.raises(connectors.SourceError, match=r"^care: .* not valid JSON, \d+ times"):
            _pull(server, "care")
    finally:
        server.set_faults("")


@pytest.mark.parametrize("slug", ["probation", "care", "municipal_orders"])
def test_a_page_served_twice_loses_nothing_in_page_number_and_fhir_paging(server, clean, slug):
    server.set_faults(f"{slug}:page_twice")
    try:
        extract = _pull(server, slug)
    finally:
        server.set_faults("")
    assert sorted(set(_keys(extract))) == clean[slug]
    assert len(_keys(extract)) > len(clean[slug])  # the repeated page did arrive twice


def test_a_page_served_twice_loses_nothing_in_offset_paging():
    world = generate_world(clients=2000, seed=33, today=TODAY)  # four pages of detentions
    with WorldServer(world, faults="dji:page_twice") as running:
        extract = _pull(running, "dji")
    expected = sorted(d["registration_number"] for d in world.detentions)
    assert sorted(set(_keys(extract))) == expected
