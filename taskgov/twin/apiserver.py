"""The twin as a Kubernetes API server: list, get and watch of Kueue objects over HTTP.

Serves ``/apis/kueue.x-k8s.io/v1beta1`` and ``v1beta2`` with resourceVersion semantics, watch
bookmarks, ``410 Gone`` for a too-old resourceVersion, namespace and label selectors, server-side
tables for ``kubectl get``, and the discovery documents kubectl reads first. Chaos options drop
watch connections and answer 410 on purpose, so the watcher's recovery can be tested.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from taskgov.twin.discovery import api_group_list, api_resource_list, table_for
from taskgov.twin.sagemaker_api import SageMakerApi
from taskgov.twin.selectors import LabelSelector, SelectorError
from taskgov.twin.store import NAMESPACED, RESOURCES, Gone, ObjectStore
from taskgov.twin.writes import ClusterQueueHook, handle_patch, handle_post, not_allowed

GROUP = "kueue.x-k8s.io"
VERSIONS = ("v1beta1", "v1beta2")
_PATH = re.compile(
    r"^/apis/kueue\.x-k8s\.io/(?P<version>v1beta[12])"
    r"(?:/namespaces/(?P<namespace>[^/]+))?/(?P<resource>[a-z]+)(?:/(?P<name>[^/]+))?/?$"
)


@dataclass(frozen=True, slots=True)
class Chaos:
    """Faults the server injects into watches, at fixed intervals so runs repeat exactly."""

    # Cut a watch stream after every n-th event sent (0: never), at most this many times.
    disconnect_every: int = 0
    max_disconnects: int = 0
    # Answer every n-th watch request that names a resourceVersion with 410 Gone.
    gone_every: int = 0
    max_gones: int = 0


class ChaosState:
    def __init__(self, chaos: Chaos) -> None:
        self.chaos = chaos
        self.lock = threading.Lock()
        self.seen = {"disconnect": 0, "gone": 0}
        self.disconnects = 0
        self.gones = 0

    def draw(self, kind: str) -> bool:
        """Count one opportunity for a fault of ``kind``; True when it should happen now."""
        every = self.chaos.disconnect_every if kind == "disconnect" else self.chaos.gone_every
        limit = self.chaos.max_disconnects if kind == "disconnect" else self.chaos.max_gones
        with self.lock:
            self.seen[kind] += 1
            used = self.disconnects if kind == "disconnect" else self.gones
            if not every or used >= limit or self.seen[kind] % every:
                return False
            if kind == "disconnect":
                self.disconnects += 1
            else:
                self.gones += 1
            return True


def convert(obj: dict[str, Any], version: str) -> dict[str, Any]:
    """The object as ``version`` shows it (v1beta2 renames ``spec.cohort`` to ``cohortName``)."""
    converted = dict(obj)
    if str(obj.get("apiVersion", "")).startswith(f"{GROUP}/v1beta"):
        converted["apiVersion"] = f"{GROUP}/{version}"
    spec = obj.get("spec")
    if obj.get("kind") == "ClusterQueue" and isinstance(spec, dict):
        spec = dict(spec)
        cohort = spec.pop("cohort", None) or spec.pop("cohortName", None)
        if cohort:
            spec["cohort" if version == "v1beta1" else "cohortName"] = cohort
        converted["spec"] = spec
    return converted


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def _send_json(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            self._route(url.path, query)
        except (BrokenPipeError, ConnectionResetError):
            return

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        handle_post(self, self.server.sagemaker)

    def do_PATCH(self) -> None:  # noqa: N802 - stdlib naming
        handle_patch(self, self.server.store, self.server.on_cluster_queue, convert)

    def do_PUT(self) -> None:  # noqa: N802 - stdlib naming
        not_allowed(self, "PUT")

    def do_DELETE(self) -> None:  # noqa: N802 - stdlib naming
        not_allowed(self, "DELETE")

    def _route(self, path: str, query: dict[str, str]) -> None:
        if path == "/version":
            self._send_json(
                200,
                {
                    "major": "1",
                    "minor": "30",
                    "gitVersion": "v1.30.0-taskgov-twin",
                    "platform": "linux/amd64",
                },
            )
        elif path == "/api":
            self._send_json(
                200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
            )
        elif path == "/api/v1":
            self._send_json(200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": []})
        elif path == "/apis":
            self._send_json(200, api_group_list())
        elif path == f"/apis/{GROUP}":
            self._send_json(200, api_group_list()["groups"][0])
        elif path.rstrip("/") in {f"/apis/{GROUP}/{v}" for v in VERSIONS}:
            self._send_json(200, api_resource_list(path.rstrip("/").rsplit("/", 1)[1]))
        else:
            match = _PATH.match(path)
            if not match or match["resource"] not in RESOURCES:
                self._send_json(
                    404,
                    status_body(
                        404,
                        "NotFound",
                        f"the server could not find the requested resource ({path})",
                    ),
                )
                return
            self._resource(match.groupdict(), query)

    def _resource(self, parts: dict[str, str | None], query: dict[str, str]) -> None:
        version, resource = str(parts["version"]), str(parts["resource"])
        namespace, name = parts["namespace"], parts["name"]
        if namespace and resource not in NAMESPACED:
            self._send_json(404, status_body(404, "NotFound", f"{resource} is not namespaced"))
            return
        if name:
            key = f"{namespace}/{name}" if namespace else name
            found = self.server.store.get(resource, key)
            if found is None:
                self._send_json(
                    404, status_body(404, "NotFound", f'{resource}.{GROUP} "{name}" not found')
                )
            else:
                self._send_json(200, convert(found, version))
            return
        try:
            selector = LabelSelector.parse(query.get("labelSelector", ""))
        except SelectorError as error:
            self._send_json(400, status_body(400, "BadRequest", str(error)))
            return

        def accept(obj: dict[str, Any]) -> bool:
            metadata = obj.get("metadata") or {}
            if namespace and metadata.get("namespace") != namespace:
                return False
            return selector.matches(metadata.get("labels") or {})

        if query.get("watch") in ("1", "true"):
            self._watch(resource, version, query, accept)
            return
        items, list_version = self.server.store.list(resource, accept)
        kind = items[0]["kind"] if items else _kind(resource)
        body = {
            "apiVersion": f"{GROUP}/{version}",
            "kind": f"{kind}List",
            "metadata": {"resourceVersion": str(list_version)},
            "items": [convert(item, version) for item in items],
        }
        if "as=Table" in self.headers.get("Accept", ""):
            body = table_for(resource, body)
        self._send_json(200, body)

    def _watch(self, resource: str, version: str, query: dict[str, str], accept: Any) -> None:
        start = query.get("resourceVersion", "")
        store, chaos = self.server.store, self.server.chaos
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
        timeout = float(query.get("timeoutSeconds", "300"))
        if start in ("", "0"):
            items, current = store.list(resource, accept)
            for item in items:
                self._chunk({"type": "ADDED", "object": convert(item, version)})
        else:
            current = int(start)
            if chaos.draw("gone"):
                self._gone(current, current + 1)
                return
        deadline = self.server.clock() + timeout
        while not store.closed and self.server.clock() < deadline:
            try:
                events, latest = store.events_after(resource, current, 1.0)
            except Gone as gone:
                self._gone(gone.requested, gone.oldest)
                return
            for event in events:
                current = event.resource_version
                if accept(event.object):
                    self._chunk({"type": event.type, "object": convert(event.object, version)})
                    if chaos.draw("disconnect"):
                        self._end()
                        return
            if not events and bookmarks:
                current = max(current, latest)
                self._chunk(
                    {
                        "type": "BOOKMARK",
                        "object": {
                            "kind": _kind(resource),
                            "apiVersion": f"{GROUP}/{version}",
                            "metadata": {"resourceVersion": str(current)},
                        },
                    }
                )
                if chaos.draw("disconnect"):
                    self._end()
                    return
        self._end()

    def _gone(self, requested: int, oldest: int) -> None:
        message = f"too old resource version: {requested} ({oldest})"
        self._chunk({"type": "ERROR", "object": status_body(410, "Expired", message)})
        self._end()

    def _chunk(self, event: dict[str, Any]) -> None:
        data = (json.dumps(event) + "\n").encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True


def _kind(resource: str) -> str:
    return {
        "workloads": "Workload",
        "clusterqueues": "ClusterQueue",
        "localqueues": "LocalQueue",
        "resourceflavors": "ResourceFlavor",
        "workloadpriorityclasses": "WorkloadPriorityClass",
        "cohorts": "Cohort",
    }[resource]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    store: ObjectStore
    chaos: ChaosState
    # The SageMaker endpoint and the ClusterQueue patch hook, when the twin takes writes.
    sagemaker: SageMakerApi | None = None
    on_cluster_queue: ClusterQueueHook | None = None

    @staticmethod
    def clock() -> float:
        import time

        return time.monotonic()


def make_http_server(store: ObjectStore, host: str, port: int, chaos: Chaos) -> _Server:
    """An HTTP server for ``store``; call ``serve_forever`` in a thread and ``shutdown`` to stop."""
    server = _Server((host, port), _Handler)
    server.store = store
    server.chaos = ChaosState(chaos)
    return server
