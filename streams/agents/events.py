"""The agent that turns the watcher's records into rows of the DuckDB system of record.

Aggregation itself is SQL over the event log (``sql/views``), refreshed by the sink on each
flush, so the numbers are the same whether the events arrive once, twice or out of order.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import faust
from pydantic import ValidationError

from streams.app import WorkerSettings
from streams.events import ClusterQueueEvent, DeadLetter, WorkloadEvent
from streams.sink_duckdb import DuckDBSink

log = logging.getLogger("taskgov.worker")


def parse(topic_kind: str, raw: bytes) -> WorkloadEvent | ClusterQueueEvent | DeadLetter:
    model = {"workload-events": WorkloadEvent, "clusterqueue-events": ClusterQueueEvent}.get(
        topic_kind, DeadLetter
    )
    return model.model_validate_json(raw)


def register_agents(app: faust.App, settings: WorkerSettings, sink: DuckDBSink) -> None:
    """Attach one agent per topic; each batch is flushed to DuckDB before offsets commit."""
    for kind in ("workload-events", "clusterqueue-events", "dead-letter"):
        topic = app.topic(
            f"{settings.topic_prefix}.{kind}", value_type=bytes, value_serializer="raw"
        )

        async def consume(stream: faust.StreamT[bytes], kind: str = kind) -> AsyncIterator[None]:
            async for batch in stream.take(settings.batch_size, within=settings.batch_window_s):
                for raw in batch:
                    try:
                        sink.add(parse(kind, raw))
                    except ValidationError as error:
                        log.warning(
                            "event=unreadable_record topic_kind=%s error=%r", kind, str(error)[:300]
                        )
                sink.flush()
                yield None

        app.agent(topic, name=f"store-{kind}")(consume)
