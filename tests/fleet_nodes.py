"""Real Scrapyd daemons on 127.0.0.1 as crawl nodes, and a moto S3 server, for the fleet tests.

Each node is `scrapyd` in its own folder (its scrapyd.conf: a free port, eggs, logs and
job databases there, a short poll interval) and its own process group, so a test can
kill -9 a whole node (daemon and crawls) as a machine dies. Its crawls reach the fixture
outlets through the fixture server's proxy (http_proxy) and read the test config.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import dies_with_tests, wait_for
from tests.fixture_server import FAST, FixtureServer, crawl_env

BIN = Path(sys.executable).parent
SCRAPYD_CONF = """\
[scrapyd]
bind_address = 127.0.0.1
http_port = {port}
eggs_dir = {root}/eggs
logs_dir = {root}/logs
dbs_dir = {root}/dbs
poll_interval = 0.2
max_proc = 2
jobs_to_keep = 20
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:  # 401: up, and asking for its password
        return error.code < 500
    except OSError:
        return False


@dataclass
class ScrapydProcess:
    name: str
    root: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, server: FixtureServer | None, config_dir: Path,
              env: dict[str, str] | None = None) -> ScrapydProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "scrapyd.conf").write_text(SCRAPYD_CONF.format(port=self.port,
                                                                    root=self.root))
        environment = {**crawl_env(server), "NARRATIVE_ARCHIVE_CONFIG": str(config_dir),
                       # the node's own scratch archive (discovery reads it), never the archive
                       "NARRATIVE_ARCHIVE_DB": str(self.root / "discovery.db"),
                       "NARRATIVE_ARCHIVE_CAPTURES": str(self.root / "captures"),
                       **(env or {})}
        self.process = subprocess.Popen(
            dies_with_tests([str(BIN / "scrapyd")]), cwd=self.root, env=environment, start_new_session=True,
            stdout=open(self.root / "scrapyd.out", "wb"), stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: answers(self.url + "/daemonstatus.json"),
                     what=f"scrapyd {self.name}")
        except BaseException:
            self.kill()
            raise
        return self

    def kill(self) -> None:
        """kill -9 the node: the daemon and every crawl it started (its process group)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-3000:]
                         for path in sorted((self.root / "logs").rglob("*.log")))


def start_nodes(tmp_path: Path, server: FixtureServer, config_dir: Path, count: int = 2,
                env: dict[str, str] | None = None) -> list[ScrapydProcess]:
    return [ScrapydProcess(f"node{i}", tmp_path / f"node{i}", free_port()).start(
        server, config_dir, env) for i in range(1, count + 1)]


def fast_settings() -> list[tuple[str, str]]:
    """The fixture crawls' settings (politeness off), and small quick batches."""
    return [*FAST.items(), ("NARRATIVE_ARCHIVE_BATCH_ARTICLES", "5"),
            ("NARRATIVE_ARCHIVE_BATCH_SECONDS", "2")]


@dataclass
class MotoServer:
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        # no_proxy: the crawls reach the fixture outlets through a proxy, the bucket directly
        return {"no_proxy": "127.0.0.1,localhost", "AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}

    def start(self, log: Path) -> MotoServer:
        self.process = subprocess.Popen(
            dies_with_tests([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]),
            stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(lambda: answers(self.url + "/moto-api/"), what="moto_server")
        except BaseException:
            self.stop()
            raise
        return self

    def bucket(self, name: str) -> None:
        import boto3

        boto3.client("s3", endpoint_url=self.url, aws_access_key_id="test",
                     aws_secret_access_key="test", region_name="us-east-1").create_bucket(
            Bucket=name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
