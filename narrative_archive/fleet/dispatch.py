"""The scheduler's jobs on Scrapyd nodes: partition, schedule.json, follow, reschedule.

A job's outlets are partitioned over the nodes that answer daemonstatus.json by
rendezvous hashing: an outlet always goes to the same node while that node is up
(so its politeness budget lives in one crawl process), and only the outlets of a
node that goes away move. Each node's share is one Scrapyd job and one crawl_runs row
(its node in crawl_runs.node), started with schedule.json; listjobs.json follows it.

A share is rescheduled on the next node in its rendezvous order when its node stops
answering for `down_after` polls, or when Scrapyd says the job finished but its final
batch never appeared (the crawl died). Batches a dead attempt already published are
still ingested; the new attempt fetches its outlets again, and the archive's upsert on
the canonical URL keeps every article once. The attempt's row is closed 'abandoned'
with the reason; the share fails when every node was tried.

revisit and backfill read the archive, so they run on the archive host as before.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from narrative_archive import store
from narrative_archive.config import Job, load_config
from narrative_archive.config.schedule import Fleet, Node
from narrative_archive.fleet import batches
from narrative_archive.fleet.egg import build_egg
from narrative_archive.fleet.scrapyd import NodeError, ScrapydNode
from narrative_archive.fleet.storage import Storage, open_storage
from narrative_archive.scheduler.jobs import CrawlOutcome, run_args, run_job

LOCAL_SPIDERS = ("revisit", "backfill")  # they read the archive: the archive host runs them
PIPELINE = "narrative_archive.fleet.node.BatchPipeline"
SEVERITY = ("ok", "failed", "abandoned", "timeout")
EGG: list[tuple[str, bytes]] = []  # this process's egg, built on first use
EGG_LOCK = threading.Lock()
DEPLOYED: dict[str, str] = {}  # "node URL, egg sha256" -> the version deployed there


def rank(key: str, nodes: Sequence[Node]) -> list[Node]:
    """The nodes in rendezvous order for `key` (highest random weight first)."""
    return sorted(nodes, key=lambda n: hashlib.sha256(f"{n.name}\0{key}".encode()).digest(),
                  reverse=True)


def partition(job: Job, outlet_ids: Iterable[str], nodes: Sequence[Node]
              ) -> list[tuple[Node, tuple[str, ...]]]:
    """Which node crawls which of the job's outlets: [(node, outlets)], nodes in config
    order. A search job (any domain) goes whole to one node, by its id."""
    if job.spider == "search":
        return [(rank(job.id, nodes)[0], tuple(job.outlets))]
    shares: dict[str, list[str]] = {}
    for outlet in job.outlets or tuple(outlet_ids):
        shares.setdefault(rank(outlet, nodes)[0].name, []).append(outlet)
    return [(node, tuple(shares[node.name])) for node in nodes if node.name in shares]


@dataclass
class Share:
    """One node's part of a job: the current attempt and the nodes tried."""

    outlets: tuple[str, ...]
    node: Node
    run_id: int
    job_key: str
    tried: list[str] = field(default_factory=list)
    misses: int = 0
    status: str | None = None  # set when this share is over


class Dispatcher:
    """Runs jobs on the fleet's nodes; `run` has the scheduler's runner signature."""

    def __init__(self, fleet: Fleet, *, project: str = "narrative-archive",
                 settings: Sequence[tuple[str, str]] = (), poll: float = 2.0,
                 down_after: int = 3, egg_dir: str | Path | None = None,
                 timeout: float = 10.0):
        self.fleet = fleet
        self.project = project
        self.settings = tuple(settings)  # extra Scrapy settings for every node job
        self.poll, self.down_after, self.timeout = poll, down_after, timeout
        self.clients = {n.name: ScrapydNode(n, project, timeout) for n in fleet.nodes}
        if fleet.batches is None:  # load_fleet requires `batches:` beside `nodes:`
            raise ValueError("a fleet needs `batches:` (a directory or s3://bucket/prefix)")
        self.storage: Storage = open_storage(fleet.batches)
        self.egg_dir = Path(egg_dir) if egg_dir else None

    # -- nodes --

    def healthy(self, exclude: Iterable[str] = ()) -> list[Node]:
        skip = set(exclude)
        up = []
        for node in self.fleet.nodes:
            if node.name in skip:
                continue
            try:
                self.clients[node.name].status()
            except NodeError:
                continue
            up.append(node)
        return up

    def egg(self) -> tuple[str, bytes]:
        """(version, egg bytes), built once per process; the version names its content."""
        with EGG_LOCK:
            if not EGG:
                import tempfile

                with tempfile.TemporaryDirectory() as tmp:
                    data = build_egg(self.egg_dir or tmp).read_bytes()
                EGG.append((f"{int(time.time())}-{hashlib.sha256(data).hexdigest()[:10]}",
                            data))
            return EGG[0]

    def deploy(self, node: Node, force: bool = False) -> str:
        """addversion.json with this code's egg (once per node URL, code and process)."""
        version, data = self.egg()
        key = f"{node.url} {hashlib.sha256(data).hexdigest()}"
        if force or key not in DEPLOYED:
            self.clients[node.name].add_version(version, data)
            DEPLOYED[key] = version
        return DEPLOYED[key]

    def deploy_all(self, nodes: Sequence[Node]) -> None:
        """Deploy to these nodes at once (addversion.json lists the egg's spiders in a
        process of its own: seconds per node). A node that fails is skipped here; its
        share then fails over when it is scheduled."""
        from concurrent.futures import ThreadPoolExecutor

        def deploy(node: Node) -> None:
            try:
                self.deploy(node)
            except NodeError:
                pass

        self.egg()
        with ThreadPoolExecutor(max(1, len(nodes))) as pool:
            list(pool.map(deploy, nodes))

    # -- running a job --

    def run(self, job: Job, db_path: str | Path, config_dir: str | Path | None = None, *,
            stop: threading.Event | None = None, force: threading.Event | None = None,
            grace: float = 30.0, log: Callable[..., None] = lambda *a, **k: None,
            **_) -> CrawlOutcome | None:
        """Run `job` on the nodes and follow it to its end (the scheduler's runner)."""
        if job.spider in LOCAL_SPIDERS or job.task:
            return run_job(job, db_path, config_dir, stop=stop, force=force, grace=grace,
                           log=log)
        stop = stop or threading.Event()
        if stop.is_set():
            return None
        started = time.monotonic()
        db = store.open_db(db_path, migrate=False)
        try:
            nodes = self.healthy()
            if not nodes:
                run_id = store.start_run(db, job.spider, run_args(job), job=job.id)
                store.finish_run(db, run_id, "failed", message="no crawl node answered "
                                 f"daemonstatus.json ({', '.join(n.url for n in self.fleet.nodes)})")
                log("finished", job=job.id, run=run_id, status="failed", message="no node")
                return CrawlOutcome(run_id, "failed", None, 0.0)
            self.deploy_all(nodes)
            outlets = [o.id for o in load_config(config_dir).outlets]
            shares = []
            for node, part in partition(job, outlets, nodes):
                share = self._start(db, job, part, [node, *self._others(job, part, [node.name])],
                                    [], log)
                if share is not None:
                    shares.append(share)
            self._follow(db, job, shares, stop, started, log)
        finally:
            db.close()
        status = max((s.status or "failed" for s in shares), key=SEVERITY.index,
                     default="failed")
        first = shares[0].run_id if shares else 0
        seconds = time.monotonic() - started
        log("finished", job=job.id, run=first, status=status, seconds=seconds,
            nodes=",".join(s.node.name for s in shares))
        return CrawlOutcome(first, status, None, seconds,
                            stopped="shutdown" if stop.is_set() else None)

    def _start(self, db, job: Job, outlets: tuple[str, ...], candidates: Sequence[Node],
               tried: list[str], log) -> Share | None:
        """A new attempt of a share on the first of `candidates` that takes it."""
        for candidate in candidates:
            args = {**run_args(job), "outlets": list(outlets), "node": candidate.name,
                    "node_url": candidate.url}
            run_id = store.start_run(db, job.spider, args, job=job.id)
            store.update_run(db, run_id, node=candidate.name)
            # unique on the node beyond this archive's run ids (a node outlives an archive)
            job_key = f"{job.id}-r{run_id}-{uuid.uuid4().hex[:8]}"
            tried = [*tried, candidate.name]
            try:
                self.deploy(candidate)
                self.clients[candidate.name].schedule(
                    job.spider, job_key, self._settings(job, candidate, job_key),
                    self._arguments(job, outlets, run_id))
            except NodeError as error:
                store.finish_run(db, run_id, "failed", message=f"not scheduled: {error}")
                log("node-down", job=job.id, run=run_id, node=candidate.name, error=str(error))
                continue
            log("started", job=job.id, run=run_id, node=candidate.name, spider=job.spider,
                outlets=len(outlets) or None)
            return Share(outlets, candidate, run_id, job_key, tried)
        return None

    def _others(self, job: Job, outlets: tuple[str, ...], tried: Iterable[str]) -> list[Node]:
        """The healthy nodes not tried yet, in the share's rendezvous order."""
        return rank(",".join(outlets) or job.id, self.healthy(exclude=tried))

    def _settings(self, job: Job, node: Node, job_key: str) -> list[tuple[str, str]]:
        return [*job.settings, *self.settings,
                ("ITEM_PIPELINES", json.dumps({PIPELINE: 300})),
                ("NARRATIVE_ARCHIVE_BATCH_URL", str(self.fleet.batches)),
                ("NARRATIVE_ARCHIVE_NODE", node.name), ("NARRATIVE_ARCHIVE_JOB", job.id),
                ("NARRATIVE_ARCHIVE_JOB_KEY", job_key)]

    @staticmethod
    def _arguments(job: Job, outlets: tuple[str, ...], run_id: int) -> list[tuple[str, str]]:
        args = [("run_id", str(run_id))]
        if outlets:
            args.append(("outlets", ",".join(outlets)))
        if job.narratives:
            args.append(("narratives", ",".join(job.narratives)))
        if job.since:
            args.append(("since", job.since))
        if job.limit:
            args.append(("limit", str(job.limit)))
        return args

    def _follow(self, db, job: Job, shares: list[Share], stop: threading.Event,
                started: float, log) -> None:
        deadline = started + job.timeout
        while any(s.status is None for s in shares):
            if stop.is_set() or time.monotonic() >= deadline:
                reason = "shutdown" if stop.is_set() else "timeout"
                for share in shares:
                    if share.status is None:
                        self._cancel(db, share, reason, log)
                return
            states: dict[str, dict[str, str] | None] = {}
            for share in [s for s in shares if s.status is None]:
                name = share.node.name
                if name not in states:
                    try:
                        states[name] = self.clients[name].jobs()
                    except NodeError:
                        states[name] = None
                self._check(db, job, shares, share, states[name], log)
            stop.wait(self.poll)

    def _check(self, db, job: Job, shares: list[Share], share: Share,
               jobs: dict[str, str] | None, log) -> None:
        state = None if jobs is None else jobs.get(share.job_key)
        if state in ("pending", "running"):
            share.misses = 0
            return
        if state == "finished":
            status = self._final_status(db, share)
            if status is not None:
                share.status = status
                log("node-finished", job=job.id, run=share.run_id, node=share.node.name,
                    status=share.status)
                return
        share.misses += 1
        if share.misses < self.down_after:
            return
        why = ("its job died: finished without a final batch" if state == "finished"
               else "it stopped answering" if jobs is None else "it lost the job")
        self._reschedule(db, job, shares, share, f"node {share.node.name}: {why}", log)

    def _reschedule(self, db, job: Job, shares: list[Share], share: Share, why: str,
                    log) -> None:
        replacement = self._start(db, job, share.outlets,
                                  self._others(job, share.outlets, share.tried), share.tried, log)
        where = (f"rescheduled on {replacement.node.name} as run {replacement.run_id}"
                 if replacement else "no other node to take it")
        store.abandon_run(db, share.run_id, f"{why}; {where}")
        log("rescheduled" if replacement else "abandoned", job=job.id, run=share.run_id,
            node=share.node.name, reason=why,
            to=replacement.node.name if replacement else None)
        share.status = "abandoned" if replacement is None else share.status
        if replacement is not None:
            shares[shares.index(share)] = replacement

    def _final_status(self, db, share: Share) -> str | None:
        """The share's verdict once its final batch is out: in the storage, or already
        ingested (and deleted from the storage) by the archive host; None before."""
        if store.final_batch_ingested(db, share.job_key):
            return (store.get_run(db, share.run_id) or {}).get("status") or "ok"
        final = batches.final_batch(self.storage, share.job_key)
        return (final.get("status") or "ok") if final is not None else None

    def _cancel(self, db, share: Share, reason: str, log) -> None:
        """Stop a share (timeout or shutdown), unless its final batch is already out."""
        status = self._final_status(db, share)
        if status is not None:  # it finished between two polls: nothing to stop
            share.status = status
            return
        try:
            self.clients[share.node.name].cancel(share.job_key)
        except NodeError:
            pass
        message = f"{reason}: cancelled on {share.node.name}"
        if reason == "shutdown":
            store.abandon_run(db, share.run_id, message)
            share.status = "abandoned"
        else:
            if (store.get_run(db, share.run_id) or {}).get("status") == "running":
                store.finish_run(db, share.run_id, "timeout", message=message)
            share.status = "timeout"
        log("cancelled", run=share.run_id, node=share.node.name, reason=reason)


def node_health(fleet: Fleet, timeout: float = 5.0) -> list[dict]:
    """Each node: up or down, and its pending/running/finished jobs (daemonstatus.json)."""
    rows = []
    for node in fleet.nodes:
        row: dict = {"node": node.name, "url": node.url}
        try:
            answer = ScrapydNode(node, timeout=timeout).status()
            row.update(health="up", pending=answer.get("pending"),
                       running=answer.get("running"), finished=answer.get("finished"))
        except NodeError as error:
            row.update(health="down", error=error.problem)
        rows.append(row)
    return rows
