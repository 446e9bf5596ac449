"""Pools of worker processes started by a forkserver."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor


def forkserver_pool(preload: Iterable[str], workers: int = 0,
                    niceness: int = 0) -> ProcessPoolExecutor:
    """Worker processes (default: one per core), forked from a forkserver that has
    imported the `preload` modules once (spawned where there is no forkserver), each
    `niceness` below the caller's priority."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(list(preload))
    count = workers or os.cpu_count() or 2
    if niceness:
        return ProcessPoolExecutor(count, mp_context=context, initializer=os.nice,
                                   initargs=(niceness,))
    return ProcessPoolExecutor(count, mp_context=context)
