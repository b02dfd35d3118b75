"""Simulated source systems for Ketenbrug: a synthetic world and the HTTP APIs serving it.

    world = generate_world(clients=2000, seed=1)
    with WorldServer(world) as servers:
        servers.base_urls["probation"], servers.credentials["probation"]

The HTTP contract is simulators/API.md.
"""

from simulators.bsn import is_valid_bsn
from simulators.population import World, generate_world
from simulators.server import WorldServer

__all__ = ["World", "WorldServer", "generate_world", "is_valid_bsn"]
