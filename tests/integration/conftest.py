"""Fixtures of the integration tests: the module's synthetic world served over HTTP, and
a hub's storage in a temporary folder (never under var/)."""

from __future__ import annotations

import pytest

from ketenbrug.pipelines.resources import HubStorage, SourceSystem
from ketenbrug.simulators import WorldServer


@pytest.fixture(scope="module")
def server(request, world):
    """The module's `world` fixture served on 127.0.0.1, one port per source system; with
    `SERVE_ADMIN = True` in the module, the admin port (faults, time) too."""
    with WorldServer(world, admin=getattr(request.module, "SERVE_ADMIN", False)) as running:
        yield running


@pytest.fixture
def hub_storage(tmp_path) -> HubStorage:
    """Where a test hub keeps its warehouse, vault, keys, outbox and disclosure log."""
    return HubStorage(warehouse_path=str(tmp_path / "warehouse.duckdb"),
                      vault_path=str(tmp_path / "vault.duckdb"), keys_dir=str(tmp_path / "keys"),
                      outbox_dir=str(tmp_path / "outbox"),
                      disclosure_log=str(tmp_path / "audit.jsonl"))


@pytest.fixture
def source_systems(server) -> dict[str, SourceSystem]:
    """One `source_<slug>` resource per system of the served world."""
    return {f"source_{slug}": SourceSystem(slug=slug, base_url=url,
                                           credential=server.credentials[slug])
            for slug, url in server.base_urls.items()}
