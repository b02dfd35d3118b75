"""Benchmark the care connector's FHIR R4 pull against the simulated care system.

    .venv/bin/python benchmarks/care_connector.py                  # 20k clients
    .venv/bin/python benchmarks/care_connector.py --clients 100000

Per server style (links absolute or relative, `_include` supported or ignored), a full
pull of every EpisodeOfCare through the real connector over HTTP: seconds, episodes per
second, requests made (search pages and Patient reads). Then what validating every
episode with the R4B EpisodeOfCare model would add, which the connector does not do
(ARCHITECTURE.md says why).
"""

from __future__ import annotations

import time
from datetime import date

import click

TODAY = date(2026, 11, 29)


@click.command()
@click.option("--clients", default=20_000, show_default=True)
def main(clients: int) -> None:
    from fhir.resources.R4B.episodeofcare import EpisodeOfCare

    from ketenbrug.connectors import HttpSettings
    from ketenbrug.connectors.care.client import CareConnector
    from ketenbrug.simulators import WorldServer, generate_world
    from ketenbrug.simulators.care_app import FhirStyle

    world = generate_world(clients, seed=1, today=TODAY)
    episodes = len(world.care_episodes)
    print(f"world: {clients} clients, {episodes} care episodes")
    for style in (FhirStyle(), FhirStyle(links="relative"), FhirStyle(include=False)):
        with WorldServer(world, fhir_style=style) as server:
            connector = CareConnector(HttpSettings(server.base_urls["care"],
                                                   server.credentials["care"]))
            asked: list[str] = []
            connector.session.hooks["response"].append(
                lambda r, *a, asked=asked, **k: asked.append(r.url))
            started = time.perf_counter()
            try:
                extract = connector.pull("episodes")
            finally:
                connector.close()
            seconds = time.perf_counter() - started
        reads = sum("/fhir/Patient/" in url for url in asked)
        assert len(extract.records) == episodes
        print(f"links={style.links:<8} include={style.include!s:<5}  {seconds:6.2f} s  "
              f"{episodes / seconds:8.0f} episodes/s  {len(asked) - reads} pages, "
              f"{reads} Patient reads")
    sample = world.care_episodes[:5000]
    EpisodeOfCare.model_validate(sample[0])  # the models build their validators lazily
    started = time.perf_counter()
    for episode in sample:
        EpisodeOfCare.model_validate(episode)
    rate = len(sample) / (time.perf_counter() - started)
    print(f"EpisodeOfCare model validation (not done): {rate:8.0f} episodes/s, "
          f"{1_000_000 * episodes / clients / rate:.0f} s for a 1M-client world's episodes")


if __name__ == "__main__":
    main()
