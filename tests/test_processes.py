"""Worker pools: started by a forkserver, at the priority asked for."""

from __future__ import annotations

import os

from narrative_archive.processes import forkserver_pool


def test_a_pools_workers_run_below_the_callers_priority():
    """A rematch's claim readers run at a lower priority than the rematch, whose own scan
    is the longer path (docs/performance.md, rematch)."""
    with forkserver_pool(["narrative_archive.processes"], 1, niceness=5) as pool:
        assert pool.submit(os.nice, 0).result(timeout=60) == min(os.nice(0) + 5, 19)
    with forkserver_pool(["narrative_archive.processes"], 1) as pool:
        assert pool.submit(os.nice, 0).result(timeout=60) == os.nice(0)
