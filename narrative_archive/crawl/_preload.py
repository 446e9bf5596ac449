"""Imported once by the extraction forkserver (see workers.ExtractorPool), never elsewhere.

It loads everything extraction needs before any worker is forked: every worker
then starts warm and shares those pages of memory with the others instead of
loading its own copy. With one worker there is nothing to share: it imports only,
and the worker warms up itself. Its heap is counted again in the RSS of every
worker, so it keeps only what the workers use: the language model is a read-only
map of a file (extract.langmodel), which each worker maps for itself (page-cache
pages, shared); the forkserver lets go of the pages its warm-up read, and gives
its free heap pages back before any fork.

It also makes the forkserver ignore SIGTERM and SIGINT, and so every worker
from birth (the ignored signals are inherited by each fork). The pool watches
each worker through its connection to the forkserver: a forkserver killed by a
SIGTERM to the crawl's whole process group (systemd, `docker stop`) would look
like every worker crashing at once, and the pages in flight would be lost. The
forkserver still leaves when the crawl process is gone (its pipe closes).
"""

import gc
import os
import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)

import psutil  # noqa: E402, F401  # each worker's watch on the crawl process (workers._alive)

from narrative_archive.crawl.workers import POOL_SIZE_VARIABLE, trim_heap, warm_up  # noqa: E402

# Warm state (trafilatura's and reading's) is worth loading here only when several
# workers share it: a single worker warms up itself, and the forkserver then holds no
# second copy that a process-tree RSS would count twice.
if int(os.environ.get(POOL_SIZE_VARIABLE) or 2) >= 2:
    warm_up()
    # The language model is a read-only map of a file (extract.langmodel): the pages the
    # warm-up read need not stay in the forkserver, which never classifies again (a page
    # shared by map is not inherited by a fork; each worker maps what it reads itself).
    from narrative_archive.extract import langmodel

    langmodel.release()
# Every page of the forkserver's heap is counted again in each worker's RSS: the free ones go.
gc.collect()
trim_heap()
# What the forkserver loaded stays untouched by the workers' garbage collections, so
# its pages stay shared instead of being copied into every worker.
gc.freeze()
