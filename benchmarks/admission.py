"""Admission control under attack: a cheap page's latency while 32 clients loop on SQL that
runs to the time limit.

Serves an archive (benchmarks/datasette.py's generated one, cached) with `narrative-archive
serve` as published, and for each mode runs, for --duration seconds, 32 attacker loops
sending `with recursive c(x) as (select 1 union all select x+1 from c) select count(*)
from c` (each runs to sql_time_limit_ms) without pause and without honouring Retry-After,
while one reader requests the cheap page (/archive/narratives.json, a row page and a
search, in turn) one after another. Prints the reader's p50/p95/max and the attackers'
answers by status.

Modes: `idle` (no attackers: the reader alone), `off` (admission limits so high nothing waits: Datasette as it was), `one-address`
(the attackers share one address, as from one machine), `many-addresses` (32 addresses
through a trusted X-Forwarded-For, as from a botnet).

    .venv/bin/python benchmarks/admission.py [--articles 20000] [--duration 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import yaml


def _load_sibling(name: str):
    """benchmarks/<name>.py as a module (benchmarks/datasette.py would shadow the library)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}",
                                                  Path(__file__).resolve().parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_bench = _load_sibling("datasette")
BIN, build, free_port, stop_server = _bench.BIN, _bench.build, _bench.free_port, _bench.stop_server

ROOT = Path(__file__).resolve().parent.parent
ATTACK = ("with recursive c(x) as (select 1 union all select x+1 from c) select count(*) from c")
CHEAP = ["/archive/narratives.json", "/archive/outlets.json?_size=5",
         "/archive/articles.json?_search=taliban&_size=5&_nocount=1&_nofacet=1"]
UNLIMITED = {"running": 1000, "running_per_client": 1000, "waiting": 1000,
             "waiting_per_client": 1000}
MODES = {
    "idle": {},  # no attackers: the reader alone
    "off": {"sql": UNLIMITED, "query": UNLIMITED},
    "one-address": {},
    "many-addresses": {"trust_forwarded_for": True},
}


def metadata_for(mode: str, directory: Path) -> Path:
    """datasette/metadata.yml with this mode's admission settings (over the shipped ones)."""
    metadata = yaml.safe_load((ROOT / "datasette" / "metadata.yml").read_text(encoding="utf-8"))
    plugins = metadata.setdefault("plugins", {})
    plugins["narrative-archive-admission"] = {**plugins.get("narrative-archive-admission", {}),
                                              **MODES[mode]}
    path = directory / f"metadata-{mode}.yml"
    path.write_text(yaml.safe_dump(metadata, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def start(db_path: Path, metadata: Path, port: int, log: Path):
    import subprocess

    process = subprocess.Popen(
        [str(BIN / "narrative-archive"), "serve", "--db", str(db_path), "--port", str(port),
         "--metadata", str(metadata)], stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/-/databases.json", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"serve exited: see {log}")
        time.sleep(0.3)
    raise RuntimeError(f"serve did not start: see {log}")


async def attack(base: str, mode: str, duration: float, attackers: int) -> tuple[dict, dict]:
    """The reader's latencies and the attackers' statuses over `duration` seconds."""
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    deadline = time.monotonic() + duration

    async def attacker(number: int, http: httpx.AsyncClient) -> None:
        headers = {"X-Forwarded-For": f"198.51.100.{number + 1}"} \
            if mode == "many-addresses" else {}
        while time.monotonic() < deadline:
            try:
                response = await http.get(base + "/archive.json", params={"sql": ATTACK},
                                          headers=headers)
                text = response.text
                statuses[str(response.status_code) + (
                    " (time limit)" if "time limit" in text else "")] += 1
            except httpx.HTTPError as error:
                statuses[type(error).__name__] += 1

    async def reader(http: httpx.AsyncClient) -> None:
        await asyncio.sleep(1)  # the attack is under way
        count = 0
        while time.monotonic() < deadline:
            path = CHEAP[count % len(CHEAP)]
            count += 1
            started = time.perf_counter()
            response = await http.get(base + path)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, (path, response.status_code)

    limits = httpx.Limits(max_connections=attackers + 4, max_keepalive_connections=attackers + 4)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http, \
            httpx.AsyncClient(timeout=120) as own:
        await asyncio.gather(*(attacker(n, http) for n in range(
            0 if mode == "idle" else attackers)), reader(own))
    latencies.sort()
    return {
        "requests": len(latencies),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1),
        "max_ms": round(1000 * latencies[-1], 1),
    }, dict(statuses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--attackers", type=int, default=32)
    parser.add_argument("--modes", default="idle,off,one-address,many-addresses")
    args = parser.parse_args()
    db_path, meta = build(args.articles)
    print(f"archive: {meta['articles']:,} articles, {meta['bytes'] / 1e6:.0f} MB;"
          f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{args.attackers} attackers looping on a time-limit query for {args.duration:g} s;"
          f" a reader on {', '.join(CHEAP)}\n")
    print("| mode | cheap requests | p50 ms | p95 ms | max ms | attackers' answers |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            port = free_port()
            process = start(db_path, metadata_for(mode, Path(tmp)), port, Path(tmp) / "serve.log")
            try:
                base = f"http://127.0.0.1:{port}"
                for path in CHEAP * 3:  # warm
                    httpx.get(base + path, timeout=60)
                reader, answers = asyncio.run(attack(base, mode, args.duration, args.attackers))
            finally:
                stop_server(process)
            shown = ", ".join(f"{status}: {count}" for status, count in sorted(answers.items()))
            print(f"| {mode} | {reader['requests']} | {reader['p50_ms']} | {reader['p95_ms']} |"
                  f" {reader['max_ms']} | {shown} |", flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
