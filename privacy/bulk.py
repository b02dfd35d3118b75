"""Pseudonymise large batches on every core.

HMAC-SHA256 per value is CPU-bound and the GIL keeps it on one core; worker processes
(forked, so the key never travels through a pipe or a file) split the batch.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from privacy.keys import KeyRing
from privacy.pseudonyms import Pseudonymiser

MIN_PARALLEL_BATCH = 50_000  # below this, starting workers costs more than it saves

_job: tuple[Pseudonymiser, Sequence[str]] | None = None


def pseudonymise_bulk(keyring: KeyRing, domain: str, values: Sequence[str],
                      workers: int | None = None) -> list[str]:
    """Return the pseudonyms of `values` in order, computed on `workers` processes."""
    workers = workers or os.cpu_count() or 1
    pseudonymiser = Pseudonymiser(keyring, domain)
    if workers == 1 or len(values) < MIN_PARALLEL_BATCH or not _can_fork():
        return pseudonymiser.pseudonyms(values)
    global _job
    # Forked workers inherit the pseudonymiser and the values: only index ranges go out,
    # and each range comes back as one fixed-width string, which pickles in one piece.
    _job = (pseudonymiser, values)
    try:
        size = -(-len(values) // workers)
        ranges = [(start, min(start + size, len(values)))
                  for start in range(0, len(values), size)]
        width = len(pseudonymiser.pseudonym(""))
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            joined = "".join(pool.map(_pseudonymise_range, ranges))
        return [joined[i:i + width] for i in range(0, len(joined), width)]
    finally:
        _job = None


def _pseudonymise_range(bounds: tuple[int, int]) -> str:
    pseudonymiser, values = _job
    return "".join(pseudonymiser.pseudonyms(values[bounds[0]:bounds[1]]))


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()
