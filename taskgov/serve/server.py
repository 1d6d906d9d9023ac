"""The HTTP server: routes, static files, JSON, metrics, health.

The standard library's threading HTTP server is enough: every request opens its own short
read-only DuckDB connection and the dashboard asks for a handful of JSON documents per page.
``start`` returns a running server (in a thread) so the CLI and ``taskgov demo`` share it.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from taskgov.errors import DatabaseError, InputError, TaskgovError
from taskgov.serve.api import ENDPOINTS, parameters
from taskgov.serve.metrics import RecordCollector
from taskgov.serve.records import reading
from taskgov.store import QueryError

LOG = logging.getLogger("taskgov.serve")
STATIC = resources.files("taskgov.serve") / "static"
# Extra JSON endpoints (e.g. the alert evaluator's state), by name, registered at start.
Extra = Callable[[dict[str, object]], dict[str, Any]]


@dataclass
class App:
    """What every request needs: the record, the metrics registry, extra endpoints."""

    db_path: Path
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # The broker the worker reads, for the consumer lag in records (empty: none).
    kafka_bootstrap: str = ""
    extras: dict[str, Extra] = field(default_factory=dict)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.registry.register(RecordCollector(self.db_path, self.clock, self.kafka_bootstrap))


class Handler(BaseHTTPRequestHandler):
    """Routes GET requests; everything else is 405."""

    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        """Serve one request."""
        url = urlsplit(self.path)
        route = url.path
        try:
            if route in ("/", "/index.html") or route.startswith("/page/"):
                self._static("index.html")
            elif route.startswith("/static/"):
                self._static(route.removeprefix("/static/"))
            elif route.startswith("/api/"):
                self._api(route.removeprefix("/api/"), dict(parse_qsl(url.query)))
            elif route == "/metrics":
                body = generate_latest(self.server.app.registry)
                self._send(HTTPStatus.OK, body, CONTENT_TYPE_LATEST)
            elif route == "/healthz":
                self._send(HTTPStatus.OK, b"ok\n", "text/plain; charset=utf-8")
            elif route == "/readyz":
                self._ready()
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no such page: {route}")
        except InputError as error:
            self._error(HTTPStatus.BAD_REQUEST, "; ".join(str(f) for f in error.faults))
        except (DatabaseError, QueryError) as error:
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, str(error))
        except TaskgovError as error:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(error))

    def _api(self, name: str, query: dict[str, str]) -> None:
        app = self.server.app
        given = parameters(query)
        if name in app.extras:
            payload = app.extras[name](given)
        elif name in ENDPOINTS:
            with reading(app.db_path) as conn:
                payload = ENDPOINTS[name](conn, given)
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such endpoint: {name}")
            return
        self._json(HTTPStatus.OK, payload)

    def _ready(self) -> None:
        with reading(self.server.app.db_path, lock_wait_s=1.0) as conn:
            conn.execute("SELECT count(*) FROM usage_minutes").fetchone()
        self._send(HTTPStatus.OK, b"ready\n", "text/plain; charset=utf-8")

    def _static(self, name: str) -> None:
        parts = [p for p in name.split("/") if p]
        if not parts or any(p in (".", "..") or p.startswith(".") for p in parts):
            self._error(HTTPStatus.NOT_FOUND, f"no such file: {name}")
            return
        target = STATIC.joinpath(*parts)
        if not target.is_file():
            self._error(HTTPStatus.NOT_FOUND, f"no such file: {name}")
            return
        kind = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith("javascript"):
            kind += "; charset=utf-8"
        self._send(HTTPStatus.OK, target.read_bytes(), kind)

    def _json(self, status: HTTPStatus, payload: object) -> None:
        body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        self._send(status, body, "application/json")

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(status, {"error": message, "status": int(status)})

    def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        """Access lines as key=value on the module's logger (stderr), not raw to stderr."""
        LOG.info("event=request client=%s line=%r", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, Handler)
        self.app = app


@dataclass
class Running:
    """A server serving in a background thread; ``close`` stops it."""

    url: str
    server: _Server
    thread: threading.Thread

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def start(app: App, host: str = "127.0.0.1", port: int = 0) -> Running:
    """Serve ``app`` on ``host:port`` (0: a free port) in a background thread.

    Raises:
        OSError: the address cannot be bound.
    """
    server = _Server((host, port), app)
    bound_host, bound_port = server.server_address[:2]
    # A wildcard address is reachable on loopback; print that, so the URL always works here.
    shown = "127.0.0.1" if bound_host in ("0.0.0.0", "::") else str(bound_host)  # noqa: S104
    thread = threading.Thread(target=server.serve_forever, name="taskgov-serve", daemon=True)
    thread.start()
    return Running(f"http://{shown}:{bound_port}/", server, thread)
