"""Imported once by the extraction forkserver (see workers.ExtractorPool), never elsewhere.

It loads everything extraction needs, the language model above all, before any
worker is forked: every worker then starts warm and shares those pages of
memory with the others instead of loading its own copy. With one worker there is
nothing to share: it imports only, and the worker warms up itself.

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

from narrative_archive.crawl.workers import POOL_SIZE_VARIABLE, warm_up  # noqa: E402

# Warm state (the language model above all, ~75 MiB) is worth loading here only when
# several workers share it: a single worker warms up itself, and the forkserver then
# holds no second copy that only a process-tree RSS would count twice.
if int(os.environ.get(POOL_SIZE_VARIABLE) or 2) >= 2:
    warm_up()
    # The language model is a read-only map of a file (extract.langmodel): the pages the
    # warm-up read need not stay in the forkserver, which never classifies again (a page
    # shared by map is not inherited by a fork; each worker maps what it reads itself).
    from narrative_archive.extract import langmodel

    langmodel.release()
# What the forkserver loaded stays untouched by the workers' garbage collections, so
# its pages stay shared instead of being copied into every worker.
gc.freeze()
