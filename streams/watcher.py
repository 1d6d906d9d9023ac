"""List, then watch, Kueue Workloads and ClusterQueues, and send their events to Kafka.

1. Recover: load the checkpoint, then read back what reached Kafka after it, so nothing sent
   before a crash is sent again. 2. List, emitting what the objects show that was never sent.
3. Watch from the list's resourceVersion; relist on 410 Gone, back off on other errors.
Events are keyed by object UID so each workload's events stay in order in one partition.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError
from urllib3.exceptions import HTTPError

from streams.broker_health import BrokerUnreachable
from streams.events import DeadLetter, WorkloadEvent, kept_raw
from streams.normalize import (
    MalformedObject,
    WorkloadMemory,
    normalize_cluster_queue,
    normalize_workload,
    pending_digest,
)
from taskgov.settings import BROKER_MAX_OUTAGE_S

GROUP = "kueue.x-k8s.io"
log = logging.getLogger("taskgov.watcher")


@dataclass(frozen=True, slots=True)
class WatcherConfig:
    """Where to watch, where to send, and where to remember progress."""

    bootstrap: str
    checkpoint: Path
    cluster: str = "default"
    kubeconfig: Path | None = None
    api_version: str = "v1beta1"
    events_topic: str = "taskgov.workload-events"
    queues_topic: str = "taskgov.clusterqueue-events"
    dead_letter_topic: str = "taskgov.dead-letter"
    batch_size: int = 500
    watch_timeout_s: int = 30
    max_backoff_s: float = 30.0
    # How long sends may keep failing before the watcher stops (exit 1).
    max_outage_s: float = BROKER_MAX_OUTAGE_S


class Progress:
    """What was sent, per workload and queue, and the Kafka offsets it reached; saved atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.workloads: dict[str, WorkloadMemory] = {}
        self.queues: set[str] = set()
        self.offsets: dict[int, int] = {}
        if path.exists():
            data = json.loads(path.read_text())
            self.workloads = {
                uid: WorkloadMemory.from_json(m) for uid, m in data["workloads"].items()
            }
            self.queues = set(data["queues"])
            self.offsets = {int(p): o for p, o in data["offsets"].items()}

    def save(self) -> None:
        data = {
            "workloads": {uid: m.to_json() for uid, m in self.workloads.items()},
            "queues": sorted(self.queues),
            "offsets": self.offsets,
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps(data))
        os.replace(temporary, self.path)

    def apply(self, event: WorkloadEvent) -> None:
        """Count an event already in Kafka, so it is not derived again."""
        memory = self.workloads.setdefault(event.uid, WorkloadMemory())
        memory.counts[event.event_type] = max(memory.counts.get(event.event_type, 0), event.ordinal)
        if event.event_type == "pending" and event.message is not None:
            memory.pending_digest = pending_digest(event.message)


class Watcher:
    """Streams normalized events of one cluster into Kafka, surviving restarts and outages."""

    def __init__(self, settings: WatcherConfig, now: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.now = now or (lambda: datetime.now(UTC))
        self.progress = Progress(settings.checkpoint)
        self.lock = threading.Lock()
        self.pending: list[tuple[str, str, bytes, WorkloadEvent | None]] = []
        self.sent = 0
        self.dead_letters = 0
        # Records read back at start that are not events (skipped, logged).
        self.unreadable = 0
        # Why the watcher stopped by itself (the broker away past max_outage_s), if it did.
        self.failure: BrokerUnreachable | None = None
        self.producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap,
            acks="all",
            linger_ms=5,
            enable_idempotence=True,
            max_block_ms=10_000,
            retries=2**31 - 1,
            request_timeout_ms=10_000,
        )
        if settings.kubeconfig is not None:
            api_client = config.new_client_from_config(config_file=str(settings.kubeconfig))
        else:
            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            api_client = client.ApiClient()
        self.api = client.CustomObjectsApi(api_client)

    # 1. recover ----------------------------------------------------------------------------

    def recover(self) -> int:
        """Read back events sent after the checkpoint; returns how many were found.

        A record that is not one of our events (written by something else, or damaged) is
        skipped and logged with its topic[partition]@offset: it was never derived from this
        cluster's objects, so skipping it derives nothing twice, and failing on it would stop
        every start. ``self.unreadable`` counts them.
        """
        topic = self.settings.events_topic
        consumer = KafkaConsumer(
            bootstrap_servers=self.settings.bootstrap, enable_auto_commit=False
        )
        try:
            partitions = consumer.partitions_for_topic(topic) or set()
            assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
            if not assigned:
                return 0
            consumer.assign(assigned)
            for tp in assigned:
                consumer.seek(tp, self.progress.offsets.get(tp.partition, 0))
            found, idle_polls = 0, 0
            while idle_polls < 3:
                batch = consumer.poll(timeout_ms=500, max_records=5000)
                idle_polls = 0 if batch else idle_polls + 1
                for tp, records in batch.items():
                    for record in records:
                        self.progress.offsets[tp.partition] = record.offset + 1
                        if self._read_back(topic, tp.partition, record.offset, record.value):
                            found += 1
            return found
        finally:
            consumer.close()

    def _read_back(self, topic: str, partition: int, offset: int, value: bytes | None) -> bool:
        """Count one record read back; False (logged) if it is not a Workload event."""
        try:
            event = WorkloadEvent.model_validate_json(value or b"")
        except (ValidationError, ValueError, RecursionError) as error:
            self.unreadable += 1
            reason = str(error).splitlines()[:2]
            log.warning(
                "event=unreadable_record_skipped record=%s[%d]@%d bytes=%d error=%r",
                topic,
                partition,
                offset,
                len(value or b""),
                " ".join(line.strip() for line in reason)[:300],
            )
            return False
        self.progress.apply(event)
        return True

    # 2. and 3. list and watch ----------------------------------------------------------------

    def _objects(self, plural: str, stop: threading.Event) -> Iterator[tuple[str, Any]]:
        """(type, object) pairs: a full list first, then watch events, relisting on 410."""
        version, backoff = None, 1.0
        while not stop.is_set():
            try:
                if version is None:
                    listing = cast(
                        dict[str, Any],
                        self.api.list_cluster_custom_object(
                            GROUP, self.settings.api_version, plural
                        ),
                    )
                    for item in listing.get("items", []):
                        yield "LISTED", item
                    yield "SYNCED", None
                    version = listing["metadata"]["resourceVersion"]
                stream = watch.Watch().stream(
                    self.api.list_cluster_custom_object,
                    GROUP,
                    self.settings.api_version,
                    plural,
                    resource_version=version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=self.settings.watch_timeout_s,
                    _request_timeout=self.settings.watch_timeout_s + 10,
                )
                for event in stream:
                    obj = event["raw_object"]
                    version = (obj.get("metadata") or {}).get("resourceVersion", version)
                    yield event["type"], obj
                    if stop.is_set():
                        return
                yield "IDLE", None
                backoff = 1.0
            except ApiException as error:
                if error.status == 410:
                    log.warning(
                        "event=relist resource=%s reason=%r",
                        plural,
                        "410 Gone: resourceVersion too old",
                    )
                    version = None
                    continue
                log.warning(
                    "event=api_error resource=%s status=%s retry_in_s=%.1f",
                    plural,
                    error.status,
                    backoff,
                )
                stop.wait(backoff)
                backoff = min(backoff * 2, self.settings.max_backoff_s)
            except (HTTPError, OSError, ValueError) as error:
                log.warning(
                    "event=watch_broken resource=%s error=%r retry_in_s=%.1f",
                    plural,
                    str(error)[:200],
                    backoff,
                )
                stop.wait(backoff)
                backoff = min(backoff * 2, self.settings.max_backoff_s)

    def _dead_letter(self, kind: str, obj: Any, reason: str) -> None:
        raw = kept_raw(json.dumps(obj, default=str))
        letter = DeadLetter(
            cluster=self.settings.cluster, kind=kind, reason=reason, raw=raw, observed_at=self.now()
        )
        metadata = obj.get("metadata") if isinstance(obj, dict) else None
        key = f"{(metadata or {}).get('namespace', '')}/{(metadata or {}).get('name', '')}"
        log.warning("event=dead_letter kind=%s key=%s reason=%r", kind, key, reason)
        self.pending.append(
            (self.settings.dead_letter_topic, key, letter.model_dump_json().encode(), None)
        )
        self.dead_letters += 1

    def _workload(self, kind: str, obj: Any) -> None:
        uid = ((obj.get("metadata") or {}).get("uid") if isinstance(obj, dict) else None) or ""
        memory = self.progress.workloads.get(uid) or WorkloadMemory()
        try:
            events = normalize_workload(
                obj, self.settings.cluster, self.now(), memory, deleted=kind == "DELETED"
            )
        except MalformedObject as error:
            self._dead_letter("Workload", obj, str(error))
            return
        self.progress.workloads[uid] = memory
        for event in events:
            self.pending.append(
                (self.settings.events_topic, uid, event.model_dump_json().encode(), event)
            )

    def _queue(self, kind: str, obj: Any) -> None:
        try:
            event = normalize_cluster_queue(
                obj, self.settings.cluster, self.now(), deleted=kind == "DELETED"
            )
        except MalformedObject as error:
            self._dead_letter("ClusterQueue", obj, str(error))
            return
        if event.event_id not in self.progress.queues:
            self.progress.queues.add(event.event_id)
            self.pending.append(
                (self.settings.queues_topic, event.name, event.model_dump_json().encode(), None)
            )

    def flush(self, stop: threading.Event) -> None:
        """Send what is pending and save progress; on a broker outage, wait and try again,
        until the outage passes ``max_outage_s``: then ``failure`` says why and ``stop`` is
        set (the events stay unsent; the checkpoint does not count them, so a restart derives
        them again)."""
        backoff = 1.0
        failing_since: float | None = None
        while self.pending and not stop.is_set():
            attempt_started = time.monotonic()
            try:
                futures = [
                    (self.producer.send(t, key=k.encode(), value=v), e)
                    for t, k, v, e in self.pending
                ]
                self.producer.flush(timeout=30)
                for future, event in futures:
                    metadata = future.get(timeout=30)
                    if event is not None:
                        offsets = self.progress.offsets
                        offsets[metadata.partition] = max(
                            offsets.get(metadata.partition, 0), metadata.offset + 1
                        )
                self.sent += len(self.pending)
                self.pending.clear()
                self.progress.save()
            except KafkaError as error:
                failing_since = attempt_started if failing_since is None else failing_since
                down_s = time.monotonic() - failing_since
                if down_s >= self.settings.max_outage_s:
                    self.failure = BrokerUnreachable(
                        self.settings.bootstrap, round(down_s), str(error)[:200] or repr(error)
                    )
                    log.error("event=watcher_stopping reason=%r", str(self.failure))
                    stop.set()
                    return
                log.error(
                    "event=broker_unavailable bootstrap=%s held_events=%d down_for_s=%.0f "
                    "retry_in_s=%.1f error=%r",
                    self.settings.bootstrap,
                    len(self.pending),
                    down_s,
                    backoff,
                    str(error)[:200],
                )
                stop.wait(backoff)
                backoff = min(backoff * 2, self.settings.max_backoff_s)

    def run(self, stop: threading.Event, synced: threading.Event | None = None) -> None:
        """Watch until ``stop`` is set; ``synced`` is set once the first list has been sent."""
        self.recover()
        queues = threading.Thread(target=self._run_queues, args=(stop,), daemon=True)
        queues.start()
        oldest = time.monotonic()
        for kind, obj in self._objects("workloads", stop):
            with self.lock:
                if kind in ("LISTED", "ADDED", "MODIFIED", "DELETED"):
                    if not self.pending:
                        oldest = time.monotonic()
                    self._workload(kind, obj)
                due = time.monotonic() - oldest > 0.2 or kind in ("SYNCED", "BOOKMARK", "IDLE")
                if len(self.pending) >= self.settings.batch_size or (due and kind != "LISTED"):
                    self.flush(stop)
                if kind == "SYNCED" and synced is not None:
                    synced.set()
        with self.lock:
            self.flush(stop)
        queues.join(timeout=5)
        self.producer.close(timeout=5)

    def _run_queues(self, stop: threading.Event) -> None:
        for kind, obj in self._objects("clusterqueues", stop):
            if kind not in ("LISTED", "ADDED", "MODIFIED", "DELETED"):
                continue
            with self.lock:
                self._queue(kind, obj)
                self.flush(stop)


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
