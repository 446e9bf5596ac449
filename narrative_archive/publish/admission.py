"""Admission control for the public instance: how many expensive requests run at once.

Datasette answers every request from a few SQL threads (`num_sql_threads`), each
query running up to the time limit. Sixteen requests of arbitrary SQL that run to
the limit take every thread, and a cheap page (a row, a search, a narrative) waits
behind them for seconds. Here requests are sorted before Datasette sees them:

- "sql": arbitrary SQL (`/archive?sql=`, `/archive.json?sql=`, a table's `_where=`);
- "query": ready-made but still unbounded work (canned queries, dashboard charts are
  `?sql=` too, CSV, `_stream=`, the narrative export, the database download);
- None: everything else (table and row pages, searches, the dashboard page, static
  files), never held up here.

Each expensive kind has its own slots: at most `running` at once, of which at most
`running_per_client` for one client address; the rest wait in line (at most
`waiting`, `waiting_per_client` of one client, each for at most `max_wait`
seconds). A client over its share is refused at once with 429, a full line with 503;
both carry Retry-After. A browser's dashboard (a burst of chart queries from one
address) waits in line instead of being refused.

Pure asyncio and the standard library: the Datasette plugin
(datasette/plugins/narrative_archive_admission.py) wires it in.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from urllib.parse import parse_qsl

SQL, QUERY = "sql", "query"
KINDS = (SQL, QUERY)
# Datasette's debug pages: who runs what (threads), exact versions (for an attacker's
# CVE list), plugins and their hooks, permission and pattern debuggers.
DEBUG_PATHS = re.compile(
    r"^/-/(threads|versions|plugins|allow-debug|permissions|patterns|messages)(\.json)?/?$")
_FORMAT = re.compile(r"\.(json|csv|tsv|atom|geojson|yaml|db)$")


@dataclass(frozen=True)
class Limits:
    """How many expensive requests of one kind run and wait at once."""

    running: int = 2
    running_per_client: int = 1
    waiting: int = 16
    waiting_per_client: int = 16
    max_wait: float = 10.0  # seconds in line before a 503
    retry_after: int = 2  # seconds, in the Retry-After of a refusal

    @classmethod
    def from_config(cls, config: Mapping[str, object] | None) -> Limits:
        """Limits from a plugin config dict (unknown keys are a ValueError)."""
        config = dict(config or {})
        unknown = sorted(set(config) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown admission settings: {', '.join(unknown)}")
        limits = cls(**{name: float(str(value)) if name == "max_wait" else int(str(value))
                        for name, value in config.items()})  # type: ignore[arg-type]
        if limits.running < 1 or limits.running_per_client < 1:
            raise ValueError("admission: running and running_per_client must be at least 1")
        return limits


def classify(path: str, query_string: str, database: str,
             canned: Iterable[str] = ()) -> str | None:
    """The kind of a GET request ("sql", "query") or None for a cheap one.

    `path` is relative to Datasette's base_url; `canned` are the database's canned
    query names.
    """
    params = dict(parse_qsl(query_string, keep_blank_values=True))
    if path.startswith("/-/export/"):
        return QUERY
    if path.startswith("/-/") or path.startswith("/static/"):
        return None
    parts = path.strip("/").split("/")
    name = _FORMAT.sub("", parts[0])
    if name != database:
        return None
    if len(parts) == 1:  # the database page: ?sql= runs SQL; .db downloads the file
        if params.get("sql", "").strip():
            return SQL
        return QUERY if parts[0].endswith(".db") else None
    table = _FORMAT.sub("", parts[1])
    if any(key == "_where" or key.startswith("_where_") for key in params):
        return SQL
    if len(parts) == 2 and table in set(canned):
        return QUERY
    if path.endswith((".csv", ".tsv")) or params.get("_stream"):
        return QUERY
    return None


@dataclass(frozen=True)
class Refusal:
    """Why a request was not admitted: its HTTP status, message and Retry-After."""

    status: int
    message: str
    retry_after: int


@dataclass
class _Line:
    """One kind's running requests and its line of waiters."""

    running: int = 0
    clients: Counter[str] = field(default_factory=Counter)  # running per client
    waiting: deque = field(default_factory=deque)  # (client, future), first come first
    waiting_clients: Counter[str] = field(default_factory=Counter)


class Admission:
    """Slots for expensive requests, per kind; use `async with admission.slot(kind, client)`
    around the request, or `await admit(...)` and `release(...)`."""

    def __init__(self, limits: Mapping[str, Limits] | Limits | None = None):
        if isinstance(limits, Limits) or limits is None:
            limits = {kind: limits or Limits() for kind in KINDS}
        self.limits = dict(limits)
        self.lines = {kind: _Line() for kind in self.limits}
        self.refused: Counter[int] = Counter()  # status → count, for tests and benchmarks

    def _free_for(self, line: _Line, limits: Limits, client: str) -> bool:
        return line.running < limits.running and \
            line.clients[client] < limits.running_per_client

    def _take(self, line: _Line, client: str) -> None:
        line.running += 1
        line.clients[client] += 1

    async def admit(self, kind: str, client: str) -> Refusal | None:
        """None once the request holds a slot (release it after), else the Refusal."""
        line, limits = self.lines[kind], self.limits[kind]
        if self._free_for(line, limits, client) and not any(
                self._free_for(line, limits, waiter) for waiter, _ in line.waiting):
            self._take(line, client)  # a free slot no one in line could take before us
            return None
        if line.clients[client] + line.waiting_clients[client] >= \
                limits.running_per_client + limits.waiting_per_client:
            return self._refuse(429, limits, "too many expensive requests from your address at"
                                " once: wait for the ones running to finish")
        if len(line.waiting) >= limits.waiting:
            return self._refuse(503, limits, "the server is busy with expensive requests"
                                " (SQL, ready-made queries, exports): try again shortly")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        entry = (client, future)
        line.waiting.append(entry)
        line.waiting_clients[client] += 1
        try:
            await asyncio.wait_for(asyncio.shield(future), limits.max_wait)
        except TimeoutError:
            if future.done():  # a slot came as the wait ran out: take it
                return None
            future.cancel()
            self._leave(line, entry)
            return self._refuse(503, limits, f"no slot for an expensive request within"
                                f" {limits.max_wait:g} s: the server is busy, try again shortly")
        except asyncio.CancelledError:  # the client went away
            if future.done() and not future.cancelled():
                self.release(kind, client)  # admitted meanwhile: hand the slot on
            else:
                future.cancel()
                self._leave(line, entry)
            raise
        return None

    def release(self, kind: str, client: str) -> None:
        """Give back a slot taken by admit; wake the first waiter that may take it."""
        line, limits = self.lines[kind], self.limits[kind]
        line.running -= 1
        line.clients[client] -= 1
        if line.clients[client] <= 0:
            del line.clients[client]
        for entry in list(line.waiting):
            waiter, future = entry
            if future.done():
                self._leave(line, entry)
                continue
            if self._free_for(line, limits, waiter):
                self._leave(line, entry)
                self._take(line, waiter)
                future.set_result(None)
            if line.running >= limits.running:
                break

    @contextlib.asynccontextmanager
    async def slot(self, kind: str, client: str):
        """Hold a slot for the block; yields None, or the Refusal (nothing to release)."""
        refusal = await self.admit(kind, client)
        try:
            yield refusal
        finally:
            if refusal is None:
                self.release(kind, client)

    def _leave(self, line: _Line, entry) -> None:
        with contextlib.suppress(ValueError):
            line.waiting.remove(entry)
            line.waiting_clients[entry[0]] -= 1
            if line.waiting_clients[entry[0]] <= 0:
                del line.waiting_clients[entry[0]]

    def _refuse(self, status: int, limits: Limits, message: str) -> Refusal:
        self.refused[status] += 1
        return Refusal(status, message, limits.retry_after)

    def state(self) -> dict[str, dict[str, int]]:
        """Running and waiting counts per kind (for tests and benchmarks)."""
        return {kind: {"running": line.running, "waiting": len(line.waiting)}
                for kind, line in self.lines.items()}


def client_address(scope: Mapping, trust_forwarded_for: bool = False) -> str:
    """The client a request counts against: the socket peer, or with
    `trust_forwarded_for` (Datasette behind a reverse proxy) the first address of
    X-Forwarded-For."""
    if trust_forwarded_for:
        for name, value in scope.get("headers") or ():
            if name.lower() == b"x-forwarded-for" and value.strip():
                return value.decode("latin-1").split(",")[0].strip()
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
