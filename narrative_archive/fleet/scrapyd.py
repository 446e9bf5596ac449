"""Scrapyd's HTTP JSON API, as the fleet uses it: one small client per node.

addversion.json (deploy an egg), schedule.json (start a job), listjobs.json (follow it),
cancel.json and daemonstatus.json (is the node up). Plain urllib with basic auth: the
API is five form POSTs and GETs.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Mapping

from narrative_archive.config.schedule import Node

DEFAULT_PROJECT = "narrative-archive"


class NodeError(RuntimeError):
    """A node could not be reached, or answered with an error."""

    def __init__(self, node: Node, problem: str):
        self.node, self.problem = node, problem
        super().__init__(f"{node.name} ({node.url}): {problem}")


class ScrapydNode:
    """One Scrapyd daemon's API."""

    def __init__(self, node: Node, project: str = DEFAULT_PROJECT, timeout: float = 10.0):
        self.node, self.project, self.timeout = node, project, timeout

    @property
    def name(self) -> str:
        return self.node.name

    def _request(self, endpoint: str, query: Mapping[str, str] | None = None,
                 form: Iterable[tuple[str, str]] | None = None,
                 files: Mapping[str, bytes] | None = None) -> dict:
        url = f"{self.node.url}/{endpoint}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers, data = {}, None
        if files:
            boundary = uuid.uuid4().hex
            data = _multipart(boundary, list(form or ()), files)
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif form is not None:
            data = urllib.parse.urlencode(list(form)).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.node.username is not None:
            token = f"{self.node.username}:{self.node.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        request = urllib.request.Request(url, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            raise NodeError(self.node, f"HTTP {error.code} from {endpoint}") from error
        except (OSError, ValueError) as error:  # refused, reset, timed out, bad URL
            raise NodeError(self.node, f"unreachable: {error}") from error
        try:
            answer = json.loads(body)
        except ValueError as error:
            raise NodeError(self.node, f"{endpoint} answered with no JSON") from error
        if answer.get("status") != "ok":
            raise NodeError(self.node, f"{endpoint}: {answer.get('message') or answer}")
        return answer

    def status(self) -> dict:
        """daemonstatus.json: {node_name, pending, running, finished}."""
        return self._request("daemonstatus.json")

    def add_version(self, version: str, egg: bytes) -> dict:
        return self._request("addversion.json", form=[("project", self.project),
                                                       ("version", version)],
                             files={"egg": egg})

    def schedule(self, spider: str, job_id: str, settings: Iterable[tuple[str, str]] = (),
                 arguments: Iterable[tuple[str, str]] = ()) -> str:
        """schedule.json: start `spider` as job `job_id`; returns the job id."""
        form = [("project", self.project), ("spider", spider), ("jobid", job_id)]
        form += [("setting", f"{name}={value}") for name, value in settings]
        form += list(arguments)
        return self._request("schedule.json", form=form)["jobid"]

    def jobs(self) -> dict[str, str]:
        """listjobs.json of the project: {job id: 'pending' | 'running' | 'finished'}."""
        answer = self._request("listjobs.json", query={"project": self.project})
        return {job["id"]: state for state in ("pending", "running", "finished")
                for job in answer.get(state, [])}

    def cancel(self, job_id: str) -> None:
        self._request("cancel.json", form=[("project", self.project), ("job", job_id)])


def _multipart(boundary: str, form: list[tuple[str, str]], files: Mapping[str, bytes]) -> bytes:
    parts = []
    for name, value in form:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    for name, content in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{name}.egg"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()
