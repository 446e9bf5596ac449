"""A stand-in for `narrative-archive crawl` that misbehaves on demand, for tests of
scheduler/jobs.py: the cases a real crawl only reaches by accident.

    python fake_crawl.py MODE --db PATH --run-id N

ok        set counters, close the run 'ok', exit 0
fail      close the run 'failed' with a message, complain on stderr, exit 1
crash     write a traceback to stderr and exit 3 without closing the run
graceful  run until SIGTERM, then close the run 'ok' and exit 0
stubborn  ignore SIGTERM: run until killed
spawn     start a worker process (which ignores SIGTERM too), write its pid to
          PATH.worker, then be stubborn
"""

import signal
import sys
import time

MODE = sys.argv[1]
stopping = False


def on_term(signum, frame):
    global stopping
    stopping = True


# first thing: the handlers, so a SIGTERM sent early finds them in place
if MODE in ("stubborn", "spawn"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
elif MODE == "graceful":
    signal.signal(signal.SIGTERM, on_term)

import argparse  # noqa: E402
import subprocess  # noqa: E402

from narrative_archive import store  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("mode")
parser.add_argument("--db", required=True)
parser.add_argument("--run-id", type=int, required=True)
args, _ = parser.parse_known_args()
db = store.open_db(args.db, migrate=False)
print(f"fake crawl {MODE} run {args.run_id}: starting", file=sys.stderr, flush=True)
store.update_run(db, args.run_id, pages=1)

if MODE == "ok":
    store.finish_run(db, args.run_id, "ok", pages=3, new_articles=2)
elif MODE == "fail":
    print("2026-11-25 14:00:01 [scrapy.core.engine] INFO: Spider opened\n"
          "2026-11-25 14:00:02 [scrapy.core.scraper] ERROR: Error downloading"
          " <GET http://127.0.0.1/feed.xml>: 500 Internal Server Error\n"
          "2026-11-25 14:00:03 [scrapy.core.engine] INFO: Closing spider (finished)",
          file=sys.stderr, flush=True)
    store.finish_run(db, args.run_id, "failed", message="nothing could be fetched", errors=2)
    sys.exit(1)
elif MODE == "crash":
    print("Traceback (most recent call last):\n  File \"crawl.py\", line 1\n"
          "sqlite3.OperationalError: disk I/O error", file=sys.stderr, flush=True)
    sys.exit(3)
elif MODE == "graceful":
    while not stopping:
        time.sleep(0.05)
    store.finish_run(db, args.run_id, "ok", pages=2)
elif MODE in ("stubborn", "spawn"):
    if MODE == "spawn":
        worker = subprocess.Popen([sys.executable, "-c",
                                   "import signal, time; signal.signal(signal.SIGTERM, "
                                   "signal.SIG_IGN); time.sleep(600)"])
        with open(args.db + ".worker", "w") as handle:
            handle.write(str(worker.pid))
    while True:
        time.sleep(0.05)
