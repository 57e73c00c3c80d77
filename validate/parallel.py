"""Cores available to this process, and a threaded map over work items."""

from __future__ import annotations

import concurrent.futures

from simulate.machine import available_cores

__all__ = ["available_cores", "parallel_map"]


def parallel_map(function, items, workers: int | None = None):
    """``map(function, items)`` on up to ``workers`` threads, in order.

    ``workers`` None means one thread per available core; 1 (or a single
    item) runs in the calling thread.
    """
    items = list(items)
    workers = available_cores() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1 or len(items) <= 1:
        return [function(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(min(workers, len(items))) as pool:
        return list(pool.map(function, items))
