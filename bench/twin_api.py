"""The twin's API server with the Philly trace: publishing, kubectl tables, client paging.

Run ``.venv/bin/python bench/twin_api.py [--limit N]``. The trace is played as fast as the
machine goes (``--speed 1e9``), then read back with Debian's kubectl and the official client.
Every wall time is also printed as a ratio to ``json.dumps`` of the same served Workloads in the
same process: the least any server must do to send them once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from kubernetes import client, config

from taskgov.settings import PHILLY_JOBS, PHILLY_NODES, data_file, load_settings
from taskgov.twin.serve import serve_twin
from taskgov.twin.trace import load_trace, philly_quotas

GROUP = "kueue.x-k8s.io"


def _timed(label: str, baseline_s: float, work: object) -> float:
    started = time.perf_counter()
    detail = work() if callable(work) else None
    wall = time.perf_counter() - started
    print(f"{label:<44} {wall:7.2f} s  ratio {wall / baseline_s:6.1f}  {detail or ''}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="first N jobs only")
    args = parser.parse_args()
    data = load_settings().data_dir
    jobs, nodes = data_file(data, PHILLY_JOBS), data_file(data, PHILLY_NODES)
    scenario = load_trace(jobs, philly_quotas(nodes), cohort="philly", limit=args.limit)
    workdir = Path(tempfile.mkdtemp(prefix="twin-api-bench-"))
    kubeconfig = workdir / "kubeconfig"
    started = time.perf_counter()
    server = serve_twin(scenario, kubeconfig=kubeconfig, speed=1e9)
    try:
        server.live.done.wait(3600)
        published = time.perf_counter() - started
        items, _ = server.store.list("workloads", lambda _: True)
        t = time.perf_counter()
        json.dumps(items)
        baseline = time.perf_counter() - t
        print(f"{len(items):,} Workloads, {server.store.version:,} resource versions")
        print(f"{'baseline: json.dumps of every Workload':<44} {baseline:7.2f} s")
        print(
            f"{'play and publish (twin, status, store)':<44} {published:7.2f} s  "
            f"ratio {published / baseline:6.1f}"
        )
        env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        kubectl = [
            "kubectl",
            f"--cache-dir={workdir / 'cache'}",
            "get",
            "kwl",
            "-A",
            "--no-headers",
        ]

        def kubectl_get() -> str:
            out = subprocess.run(kubectl, capture_output=True, text=True, env=env, check=True)
            return f"{len(out.stdout.splitlines()):,} rows"

        _timed("kubectl get kwl -A (tables, pages of 500)", baseline, kubectl_get)
        api = client.CustomObjectsApi(config.new_client_from_config(config_file=str(kubeconfig)))

        def client_pages() -> str:
            count, pages, token = 0, 0, None
            while True:
                page = cast(
                    dict[str, Any],
                    api.list_cluster_custom_object(
                        GROUP, "v1beta2", "workloads", limit=500, _continue=token
                    ),
                )
                count, pages = count + len(page["items"]), pages + 1
                token = page["metadata"].get("continue")
                if not token:
                    return f"{count:,} items in {pages} pages"

        _timed("Python client, limit 500 + continue", baseline, client_pages)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
