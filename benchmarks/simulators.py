"""Benchmark the synthetic world: time and peak memory to generate and to serve it.

    .venv/bin/python benchmarks/simulators.py                 # 100k and 1M clients
    .venv/bin/python benchmarks/simulators.py --sizes 100000

Each size runs in a child process of its own, so its peak RSS is its own. Per size:
generate (time, peak RSS), ground-truth file, WorldServer start (index build), a full pull
of every probation order (3 tenants, pages of 1,000) and every FHIR EpisodeOfCare
(following `next`, _count 1,000) with requests, and one day of `advance` re-served.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import click
import requests

TODAY = date(2026, 11, 29)
PAGE = 1000


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux


def _timed(figures: dict, name: str, action):
    started = time.perf_counter()
    result = action()
    figures[name] = round(time.perf_counter() - started, 2)
    return result


def _pull_orders(server) -> int:
    headers = {"Authorization": f"Bearer {server.credentials['probation']}"}
    count = 0
    with requests.Session() as http:
        for org in ("RN", "SVG", "LJR"):
            page = 1
            while True:
                body = http.get(f"{server.base_urls['probation']}/tenants/{org}/orders",
                                params={"page": page, "page_size": PAGE}, headers=headers,
                                timeout=(3, 60)).json()
                count += len(body["data"])
                if not body["has_more"]:
                    break
                page += 1
    return count


def _pull_episodes(server) -> int:
    headers = {"Authorization": f"Bearer {server.credentials['care']}"}
    url = f"{server.base_urls['care']}/fhir/EpisodeOfCare?_count={PAGE}"
    count = 0
    with requests.Session() as http:
        while url:
            bundle = http.get(url, headers=headers, timeout=(3, 60)).json()
            count += len(bundle["entry"])
            url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"),
                       None)
    return count


def measure(clients: int) -> dict:
    """Return the figures for one world of `clients` clients (run in a fresh process)."""
    from ketenbrug.simulators import WorldServer, generate_world

    figures: dict = {"clients": clients}
    world = _timed(figures, "generate_s", lambda: generate_world(clients, seed=1, today=TODAY))
    figures["generate_peak_rss_mb"] = _peak_mb()
    figures["records"] = sum(len(getattr(world, name)) for name in (
        "probation_clients", "probation_orders", "detentions", "involvements",
        "care_episodes", "agreements", "bookings"))
    with tempfile.TemporaryDirectory() as folder:
        _timed(figures, "ground_truth_s",
               lambda: world.write_ground_truth(Path(folder) / "truth.jsonl"))
    server = _timed(figures, "serve_start_s", lambda: WorldServer(world).start())
    try:
        figures["orders"] = _timed(figures, "pull_all_orders_s", lambda: _pull_orders(server))
        figures["episodes"] = _timed(figures, "pull_all_episodes_s",
                                     lambda: _pull_episodes(server))
        _timed(figures, "advance_1_day_and_reindex_s", lambda: server.advance(1))
    finally:
        server.stop()
    figures["total_peak_rss_mb"] = _peak_mb()
    return figures


@click.command()
@click.option("--sizes", multiple=True, type=int, default=(100_000, 1_000_000),
              show_default=True, help="Numbers of clients to measure (repeatable).")
@click.option("--child", type=int, default=None, hidden=True)
def main(sizes: tuple[int, ...], child: int | None) -> None:
    """Print generate and serve figures per world size, one JSON object per line."""
    if child is not None:
        click.echo(json.dumps(measure(child)))
        return
    for clients in sizes:
        done = subprocess.run([sys.executable, __file__, "--child", str(clients)],
                              capture_output=True, text=True, check=True)
        click.echo(done.stdout.strip())


if __name__ == "__main__":
    main()
