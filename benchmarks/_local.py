"""What the crawl benchmarks share: a local HTTP server on 127.0.0.1 that answers from a
`route` method, and the peak memory (and CPU) of a process tree, sampled in a thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psutil

NOT_FOUND = (404, b"not found", "text/plain")


class LocalServer:
    """A threaded server on 127.0.0.1:<free port>; subclasses answer in
    ``route(path, host) -> (status, body, content type)``. A context manager."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    def route(self, path: str, host: str) -> tuple[int, bytes, str]:
        raise NotImplementedError

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                status, body, kind = site.route(self.path, (self.headers.get("Host") or ""))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class TreeMemory:
    """Peak RSS and PSS of a process and all its descendants, sampled every `every` s, and
    the CPU seconds of each (``cpu``: pid -> (is the root process, seconds))."""

    def __init__(self, pid: int, every: float = 0.02):
        self.root, self.every = psutil.Process(pid), every
        self.tree_rss = self.tree_pss = self.largest_rss = self.crawl_rss = 0
        self.processes = 0
        self.worker_rss = 0  # the largest descendant
        self.cpu: dict[int, tuple[bool, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            rss = pss = 0
            for process in processes:
                try:
                    info = process.memory_full_info()
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
                is_root = process.pid == self.root.pid
                self.cpu[process.pid] = (is_root, times.user + times.system)
                self.largest_rss = max(self.largest_rss, info.rss)
                if is_root:
                    self.crawl_rss = max(self.crawl_rss, info.rss)
                else:
                    self.worker_rss = max(self.worker_rss, info.rss)
            self.processes = max(self.processes, len(processes))
            self.tree_rss, self.tree_pss = max(self.tree_rss, rss), max(self.tree_pss, pss)
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
