"""The whole of ``taskgov serve`` behind one call: the HTTP server plus the scheduled jobs it
is configured for. ``taskgov demo`` and the CLI both start it with :func:`launch`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from taskgov.serve.alert_rules import RuleSettings
from taskgov.serve.alerting import Deliveries
from taskgov.serve.jobs import (
    AlertJob,
    RecommendJob,
    cron_matches,
    every,
    on_schedule,
    start_thread,
)
from taskgov.serve.server import App, Running, start


@dataclass(frozen=True)
class ServeOptions:
    """What to serve and which jobs to run.

    Attributes:
        db_path: the DuckDB record (read only).
        host, port: where to listen (port 0: any free one).
        alert_every: evaluate the alert rules this often (None: no alert job).
        rules: the rules' thresholds.
        deliveries: Alertmanager URL and Kafka broker/topic for alerts (empty: not used).
        recommend_schedule: five-field cron schedule for recommendations (None: none).
        recommend_policy: the policy file recommendations start from.
        kafka_bootstrap: the broker the worker reads, for /metrics' lag in records.
    """

    db_path: Path
    host: str = "127.0.0.1"
    port: int = 0
    alert_every: timedelta | None = None
    rules: RuleSettings = field(default_factory=RuleSettings)
    deliveries: Deliveries = field(default_factory=Deliveries)
    recommend_schedule: str | None = None
    recommend_policy: Path | None = None
    kafka_bootstrap: str = ""


@dataclass
class Service:
    """A running ``taskgov serve``: its URL, its server, its jobs; ``close`` stops it all."""

    running: Running
    stop: threading.Event
    alert_job: AlertJob | None

    @property
    def url(self) -> str:
        """The URL served, e.g. ``http://127.0.0.1:8000/``."""
        return self.running.url

    def close(self) -> None:
        """Stop the jobs, then the server."""
        self.stop.set()
        self.running.close()


def launch(
    options: ServeOptions, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Service:
    """Start serving ``options.db_path`` and the configured jobs, in background threads.

    Raises:
        OSError: the address cannot be bound.
        InputError: the recommendation schedule is not a cron schedule.
    """
    stop = threading.Event()
    app = App(options.db_path, clock=clock, kafka_bootstrap=options.kafka_bootstrap)
    alert_job = None
    if options.alert_every is not None:
        alert_job = AlertJob(
            options.db_path, options.rules, options.deliveries, options.alert_every, clock
        )
        app.extras["alerts"] = alert_job.payload
        start_thread(every, options.alert_every, alert_job.run_once, stop)
    if options.recommend_schedule and options.recommend_policy:
        job = RecommendJob(options.db_path, options.recommend_policy, options.recommend_schedule)

        cron_matches(job.schedule, clock())  # refuse a bad schedule now, not at its minute
        start_thread(on_schedule, job, clock, stop)
    running = start(app, options.host, options.port)
    return Service(running, stop, alert_job)
