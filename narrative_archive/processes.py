"""Pools of worker processes started by a forkserver."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor


def forkserver_pool(preload: Iterable[str], workers: int = 0) -> ProcessPoolExecutor:
    """Worker processes (default: one per core), forked from a forkserver that has
    imported the `preload` modules once (spawned where there is no forkserver)."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(list(preload))
    return ProcessPoolExecutor(workers or os.cpu_count() or 2, mp_context=context)
