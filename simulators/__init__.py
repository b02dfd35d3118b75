"""Simulated source systems for Ketenbrug: a synthetic world and the HTTP APIs serving it.

    world = generate_world(clients=2000, seed=1)
    world.write_ground_truth("var/world/ground_truth.jsonl")
    with WorldServer(world, faults="dji:429x2,probation:invalid_bsn=5") as servers:
        servers.base_urls["probation"], servers.credentials["probation"]
        servers.fault_report      # keys the data faults altered
        servers.advance(days=1)   # a new day: admissions, releases, orders, corrections

The HTTP contract, the fault grammar and the control API are in simulators/API.md.
"""

from ketenbrug.simulators.bsn import is_valid_bsn
from ketenbrug.simulators.faults import Fault, FaultSpec
from ketenbrug.simulators.ground_truth import read_ground_truth, write_ground_truth
from ketenbrug.simulators.population import World, generate_world
from ketenbrug.simulators.server import WorldServer

__all__ = [
    "Fault", "FaultSpec", "World", "WorldServer", "generate_world", "is_valid_bsn",
    "read_ground_truth", "write_ground_truth",
]
