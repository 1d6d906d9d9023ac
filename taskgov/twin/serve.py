"""Start and stop the twin API server: the live simulation, the HTTP server and a kubeconfig."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from taskgov.twin.apiserver import Chaos, make_http_server
from taskgov.twin.live import LiveTwin
from taskgov.twin.requota import read_cluster_queue, update_cluster_queue
from taskgov.twin.sagemaker_api import SageMakerApi
from taskgov.twin.scenario import Scenario
from taskgov.twin.store import ObjectStore


def write_kubeconfig(path: Path, server_url: str) -> None:
    """A kubeconfig whose current context is the twin, for kubectl and the watcher."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "taskgov-twin", "cluster": {"server": server_url}}],
        "users": [{"name": "taskgov-twin", "user": {}}],
        "contexts": [
            {
                "name": "taskgov-twin",
                "context": {
                    "cluster": "taskgov-twin",
                    "user": "taskgov-twin",
                    "namespace": "default",
                },
            }
        ],
        "current-context": "taskgov-twin",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


@dataclass
class RunningTwinServer:
    """A twin being served; ``stop`` ends both the simulation and the HTTP server."""

    url: str
    port: int
    kubeconfig: Path
    store: ObjectStore
    live: LiveTwin
    _http: object
    _thread: threading.Thread

    def faults(self) -> tuple[int, int]:
        """(watch streams cut, watches answered 410) injected so far."""
        chaos = self._http.chaos  # type: ignore[attr-defined]
        return chaos.disconnects, chaos.gones

    def take_cluster_queue(self, manifest: dict[str, Any]) -> None:
        """A changed ClusterQueue: into the running twin at this instant.

        Raises:
            ValueError: the twin cannot read it, or it moves the queue to another cohort.
        """
        queue = read_cluster_queue(dict(manifest))
        self.live.change(lambda twin: update_cluster_queue(twin, queue), dict(manifest))

    def put_cluster_queue(self, manifest: dict[str, Any]) -> None:
        """A ClusterQueue the governance API compiled: into the twin, then served (watched)."""
        name = str((manifest.get("metadata") or {}).get("name"))
        with self.store.write_lock:
            current = self.store.get("clusterqueues", name)
            if current is None:
                return
            self.take_cluster_queue({**current, "spec": manifest.get("spec", {})})

    def open_watches(self) -> int:
        """Watch requests being served now."""
        return int(self._http.open_watches)  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.live.stop()
        self.store.close()
        self._http.shutdown()  # type: ignore[attr-defined]
        self._http.server_close()  # type: ignore[attr-defined]
        self._thread.join(timeout=10)


def serve_twin(
    scenario: Scenario,
    *,
    kubeconfig: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    speed: float = 1.0,
    history: int = 100_000,
    chaos: Chaos | None = None,
    malformed: int = 0,
    paused: bool = False,
    sagemaker: SageMakerApi | None = None,
) -> RunningTwinServer:
    """Serve ``scenario`` played at ``speed`` on ``host:port`` (0 picks a free port).

    With ``paused``, the objects are served but time starts only at ``live.resume()``.
    ``sagemaker`` serves that governance API at the same address; ClusterQueue patches are
    always taken, at the instant they arrive.
    """
    store = ObjectStore(history=history)
    http = make_http_server(store, host, port, chaos or Chaos())
    actual_port = http.server_address[1]
    url = f"http://{host}:{actual_port}"
    write_kubeconfig(kubeconfig, url)
    thread = threading.Thread(target=http.serve_forever, name="twin-http", daemon=True)
    thread.start()
    live = LiveTwin(scenario, store, speed=speed, malformed=malformed)
    running = RunningTwinServer(url, actual_port, kubeconfig, store, live, http, thread)
    http.sagemaker = sagemaker
    http.on_cluster_queue = running.take_cluster_queue
    live.start(paused=paused)
    return running
