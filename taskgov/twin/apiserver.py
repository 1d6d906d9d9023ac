"""The twin as a Kubernetes API server: list, get and watch of Kueue objects over HTTP.

Serves ``/apis/kueue.x-k8s.io/v1beta1`` and ``v1beta2`` (each version in its own shape) with
resourceVersion semantics, watch bookmarks, ``410 Gone`` for a too-old resourceVersion, label
and field selectors, ``limit``/``continue`` paging over a consistent snapshot, server-side
tables (also on watch) for ``kubectl get``, discovery, OpenAPI v2 and v3 for ``kubectl
explain``, and the health endpoints. A method the twin does not serve on a path gets a
``Status`` with ``405 MethodNotAllowed``; methods are looked up in ``_Handler.METHODS`` and a
resource's ``verbs``, so a write (PATCH of ClusterQueues) is one entry in each.
Chaos options drop watch connections and answer 410 on purpose, so the watcher's recovery can
be tested.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

from taskgov.twin import discovery, openapi
from taskgov.twin.discovery import GROUP, RESOURCE_TYPES
from taskgov.twin.namespaces import NAMESPACE_COLUMNS, core_resource_list, namespaces
from taskgov.twin.openapi_proto import PROTOBUF_MEDIA_TYPE
from taskgov.twin.paging import Pages, PagingError
from taskgov.twin.sagemaker_api import SageMakerApi
from taskgov.twin.selectors import FieldSelector, LabelSelector, SelectorError
from taskgov.twin.store import Gone, ObjectStore
from taskgov.twin.tables import table
from taskgov.twin.versions import convert
from taskgov.twin.writes import ClusterQueueHook, handle_patch, handle_post, status_body

VERSIONS = discovery.VERSIONS
_NAMESPACES = re.compile(r"^/api/v1/namespaces(?:/(?P<name>[^/]+))?/?$")
_PATH = re.compile(
    r"^/apis/kueue\.x-k8s\.io/(?P<version>v1beta[12])"
    r"(?:/namespaces/(?P<namespace>[^/]+))?/(?P<resource>[a-z]+)"
    r"(?:/(?P<name>[^/]+)(?:/(?P<subresource>status))?)?/?$"
)
# The RBAC verb each HTTP method needs on a resource (GET covers get, list and watch).
_VERB_OF_METHOD = {
    "GET": "get",
    "PATCH": "patch",
    "PUT": "update",
    "POST": "create",
    "DELETE": "delete",
}


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


@dataclass(frozen=True, slots=True)
class ResourcePath:
    """A parsed ``/apis/kueue.x-k8s.io/<version>/[namespaces/<ns>/]<resource>[/<name>]``."""

    version: str
    resource: str
    namespace: str | None
    name: str | None
    subresource: str | None = None  # "status": GET reads the whole object, as Kubernetes does


def _static_documents() -> dict[str, Callable[[], dict[str, Any]]]:
    documents: dict[str, Callable[[], dict[str, Any]]] = {
        "/version": lambda: {
            "major": "1",
            "minor": "30",
            "gitVersion": "v1.30.0-taskgov-twin",
            "platform": "linux/amd64",
        },
        "/api": discovery.api_versions,
        "/api/v1": core_resource_list,
        "/apis": discovery.api_group_list,
        f"/apis/{GROUP}": discovery.api_group,
        "/openapi/v2": openapi.swagger_v2,
        "/openapi/v3": openapi.v3_root,
    }
    for version in VERSIONS:
        documents[f"/apis/{GROUP}/{version}"] = partial(discovery.api_resource_list, version)
        documents[f"/openapi/v3/apis/{GROUP}/{version}"] = partial(openapi.v3_document, version)
    return documents


_DOCUMENTS = _static_documents()
_HEALTH = {"/healthz", "/livez", "/readyz"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    request_body: bytes = b""
    include_object: str = "Metadata"  # a Table row's object: None, Metadata or Object
    # What each HTTP method does on a resource path; a resource also needs the verb.
    METHODS: ClassVar[dict[str, str]] = {"GET": "_get"}

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def _send_json(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_status(self, code: int, reason: str, message: str) -> None:
        self._send_json(code, status_body(code, reason, message))

    def _handle(self, method: str) -> None:
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.include_object = query.get("includeObject", "Metadata")
        length = int(self.headers.get("Content-Length") or 0)
        # Read now, whatever the method: an unread body would corrupt the next request on
        # the connection. A write handler (PATCH) finds it here.
        self.request_body = self.rfile.read(length) if length else b""
        try:
            self._route(method, url.path, query)
        except (BrokenPipeError, ConnectionResetError):
            return

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        # The SageMaker (JSON, X-Amz-Target) and STS (form) calls boto3 makes at this address.
        content_type = self.headers.get("Content-Type", "")
        if self.server.sagemaker is not None and (
            self.headers.get("X-Amz-Target") or "x-www-form-urlencoded" in content_type
        ):
            handle_post(self, self.server.sagemaker)
            return
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802 - stdlib naming
        self._handle("PUT")

    def do_PATCH(self) -> None:  # noqa: N802 - stdlib naming
        if self.server.on_cluster_queue is not None and "/clusterqueues/" in self.path:
            handle_patch(self, self.server.store, self.server.on_cluster_queue, convert)
            return
        self._handle("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802 - stdlib naming
        self._handle("DELETE")

    def _not_allowed(self) -> None:
        self._send_status(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )

    def _route(self, method: str, path: str, query: dict[str, str]) -> None:
        trimmed = path.rstrip("/") or "/"
        if trimmed in _HEALTH or trimmed in _DOCUMENTS:
            if method != "GET":
                self._not_allowed()
            elif trimmed in _HEALTH:
                self._send_text(200, "ok")
            elif trimmed == "/openapi/v2" and "protobuf" in self.headers.get("Accept", ""):
                self._send_bytes(200, PROTOBUF_MEDIA_TYPE, openapi.swagger_v2_protobuf())
            else:
                self._send_json(200, _DOCUMENTS[trimmed]())
            return
        core = _NAMESPACES.match(path)
        if core is not None:
            self._namespaces(method, core["name"])
            return
        match = _PATH.match(path)
        kind = RESOURCE_TYPES.get(match["resource"]) if match else None
        if match is None or kind is None or (match["subresource"] and not kind.status_subresource):
            self._send_status(
                404, "NotFound", f"the server could not find the requested resource ({path})"
            )
            return
        target = ResourcePath(
            match["version"],
            match["resource"],
            match["namespace"],
            match["name"],
            match["subresource"],
        )
        if target.namespace and not kind.namespaced:
            self._send_status(404, "NotFound", f"{target.resource} is not namespaced")
            return
        handler = self.METHODS.get(method)
        if handler is None or _VERB_OF_METHOD.get(method) not in kind.verbs:
            self._not_allowed()
            return
        getattr(self, handler)(target, query)

    def _namespaces(self, method: str, name: str | None) -> None:
        if method != "GET":
            self._not_allowed()
            return
        items, version = namespaces(self.server.store)
        if name is not None:
            items = [i for i in items if i["metadata"]["name"] == name]
            if not items:
                self._send_status(404, "NotFound", f'namespaces "{name}" not found')
                return
        if self._wants_table():
            self._send_json(
                200,
                table(NAMESPACE_COLUMNS, items, str(version), include_object=self.include_object),
            )
        elif name is not None:
            self._send_json(200, items[0])
        else:
            listing = {"resourceVersion": str(version)}
            self._send_json(
                200,
                {"apiVersion": "v1", "kind": "NamespaceList", "metadata": listing, "items": items},
            )

    def _send_text(self, code: int, text: str) -> None:
        self._send_bytes(code, "text/plain; charset=utf-8", text.encode())

    def _send_bytes(self, code: int, content_type: str, data: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _wants_table(self) -> bool:
        return "as=Table" in self.headers.get("Accept", "")

    def _get(self, target: ResourcePath, query: dict[str, str]) -> None:
        columns = RESOURCE_TYPES[target.resource].columns(target.version)
        if target.name:
            key = f"{target.namespace}/{target.name}" if target.namespace else target.name
            found = self.server.store.get(target.resource, key)
            if found is None:
                message = f'{target.resource}.{GROUP} "{target.name}" not found'
                self._send_status(404, "NotFound", message)
                return
            body = convert(found, target.version)
            if self._wants_table():
                body = table(
                    columns,
                    [body],
                    body["metadata"].get("resourceVersion", ""),
                    include_object=self.include_object,
                )
            self._send_json(200, body)
            return
        try:
            labels = LabelSelector.parse(query.get("labelSelector", ""))
            fields = FieldSelector.parse(query.get("fieldSelector", ""))
        except SelectorError as error:
            self._send_status(400, "BadRequest", str(error))
            return

        def accept(obj: dict[str, Any]) -> bool:
            metadata = obj.get("metadata") or {}
            if target.namespace and metadata.get("namespace") != target.namespace:
                return False
            return fields.matches(metadata) and labels.matches(metadata.get("labels") or {})

        if query.get("watch") in ("1", "true"):
            self._watch(target, query, accept)
        else:
            self._list(target, query, accept)

    def _list(
        self, target: ResourcePath, query: dict[str, str], accept: Callable[[Any], bool]
    ) -> None:
        try:
            page = self.server.pages.page(
                target.resource,
                lambda: self.server.store.list(target.resource, accept),
                query.get("limit", ""),
                query.get("continue", ""),
            )
        except PagingError as error:
            self._send_status(error.code, error.reason, str(error))
            return
        items = [convert(item, target.version) for item in page.items]
        if self._wants_table():
            columns = RESOURCE_TYPES[target.resource].columns(target.version)
            body = table(
                columns,
                items,
                str(page.resource_version),
                continue_token=page.token,
                include_object=self.include_object,
            )
        else:
            metadata: dict[str, Any] = {"resourceVersion": str(page.resource_version)}
            if page.token:
                metadata["continue"] = page.token
                metadata["remainingItemCount"] = page.remaining
            body = {
                "apiVersion": f"{GROUP}/{target.version}",
                "kind": f"{RESOURCE_TYPES[target.resource].kind}List",
                "metadata": metadata,
                "items": items,
            }
        self._send_json(200, body)

    def _watch_object(self, target: ResourcePath, obj: dict[str, Any]) -> dict[str, Any]:
        converted = convert(obj, target.version)
        if not self._wants_table():
            return converted
        columns = RESOURCE_TYPES[target.resource].columns(target.version)
        return table(
            columns,
            [converted],
            converted["metadata"].get("resourceVersion", ""),
            include_object=self.include_object,
        )

    def _watch(
        self, target: ResourcePath, query: dict[str, str], accept: Callable[[Any], bool]
    ) -> None:
        with self.server.watch_lock:
            self.server.open_watches += 1
        try:
            self._stream(target, query, accept)
        finally:
            with self.server.watch_lock:
                self.server.open_watches -= 1

    def _stream(
        self, target: ResourcePath, query: dict[str, str], accept: Callable[[Any], bool]
    ) -> None:
        start = query.get("resourceVersion", "")
        store, chaos, resource = self.server.store, self.server.chaos, target.resource
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
        timeout = float(query.get("timeoutSeconds", "300"))
        if start in ("", "0"):
            items, current = store.list(resource, accept)
            for item in items:
                self._chunk({"type": "ADDED", "object": self._watch_object(target, item)})
        else:
            current = int(start)
            if chaos.draw("gone"):
                self._gone(current, current + 1)
                return
        deadline = time.monotonic() + timeout
        while not store.closed and time.monotonic() < deadline:
            try:
                events, latest = store.events_after(resource, current, 1.0)
            except Gone as gone:
                self._gone(gone.requested, gone.oldest)
                return
            for event in events:
                current = event.resource_version
                if accept(event.object):
                    self._chunk(
                        {"type": event.type, "object": self._watch_object(target, event.object)}
                    )
                    if chaos.draw("disconnect"):
                        self._end()
                        return
            if not events and bookmarks:
                current = max(current, latest)
                self._bookmark(target, current)
                if chaos.draw("disconnect"):
                    self._end()
                    return
        self._end()

    def _bookmark(self, target: ResourcePath, current: int) -> None:
        kind = RESOURCE_TYPES[target.resource].kind
        self._chunk(
            {
                "type": "BOOKMARK",
                "object": {
                    "kind": kind,
                    "apiVersion": f"{GROUP}/{target.version}",
                    "metadata": {"resourceVersion": str(current)},
                },
            }
        )

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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    store: ObjectStore
    chaos: ChaosState
    pages: Pages
    # Watch requests being served right now (tests wait for a client's watch to open).
    open_watches: int
    watch_lock: threading.Lock
    # The SageMaker endpoint and the ClusterQueue patch hook, when the twin takes writes.
    sagemaker: SageMakerApi | None = None
    on_cluster_queue: ClusterQueueHook | None = None


def make_http_server(store: ObjectStore, host: str, port: int, chaos: Chaos) -> _Server:
    """An HTTP server for ``store``; call ``serve_forever`` in a thread and ``shutdown`` to stop."""
    server = _Server((host, port), _Handler)
    server.store = store
    server.chaos = ChaosState(chaos)
    server.pages = Pages()
    server.open_watches = 0
    server.watch_lock = threading.Lock()
    return server
