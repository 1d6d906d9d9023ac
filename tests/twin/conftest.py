"""The twin served once for tests/twin's API tests (``served``), seen by kubectl and the client.

The twin starts paused, ``kubectl get workloads -A --watch`` is started, then the twin plays
tests/twin/data/apiserver.yaml at 10x (five simulated seconds) and every test reads the end
state. In it, cq-a (StrictFIFO, 4 CPUs) admits wl-1 and wl-2 and keeps wl-3 pending; cq-b
(2 CPUs, v1beta2) admits wl-4 and wl-5, borrowing one CPU from cq-a, and keeps wl-6 pending:
the cohort's 6 CPUs are all in use.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
from kubernetes import client, config

from taskgov.policy.load import read_documents
from taskgov.twin.scenario import build_scenario
from taskgov.twin.serve import RunningTwinServer, serve_twin
from tests.twin.apiserver_helpers import SCENARIO, Served, kubectl_path


@pytest.fixture(scope="package")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("twin-api")
    kubeconfig = workdir / "kubeconfig"
    scenario = build_scenario(read_documents(SCENARIO.read_text(), SCENARIO.name))
    server = serve_twin(scenario, kubeconfig=kubeconfig, speed=10, paused=True)
    watch_log = workdir / "watch.out"
    try:
        with watch_log.open("w") as sink:
            watcher = subprocess.Popen(
                [kubectl_path(), f"--cache-dir={workdir / 'kube-cache'}"]
                + ["get", "workloads", "-A", "--watch", "--request-timeout=0"],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin"},
            )
            try:
                _wait_for_watch(server)
                server.live.resume()
                assert server.live.done.wait(30), "the twin did not finish in 30 s"
                time.sleep(1.5)  # let kubectl print the last events
            finally:
                watcher.terminate()
                watcher.wait(10)
        api_client = config.new_client_from_config(config_file=str(kubeconfig))
        yield Served(server, kubeconfig, watch_log.read_text(), client.CustomObjectsApi(api_client))
    finally:
        server.stop()


def _wait_for_watch(server: RunningTwinServer) -> None:
    """Until kubectl has opened its watch (a watch request shows up as an open connection)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.open_watches() > 0:
            return
        time.sleep(0.1)
    pytest.fail("kubectl never started watching workloads")
