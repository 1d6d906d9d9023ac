"""Settings from a YAML file and ``TASKGOV_*`` environment variables (the environment wins)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from taskgov.errors import Fault, InputError
from taskgov.yamlsafe import load_one, read_text

CONFIG_ENV = "TASKGOV_CONFIG"
# The real cluster traces installed with taskgov (see taskgov/data/README.md).
PACKAGED_DATA_DIR = Path(__file__).resolve().parent / "data" / "traces"
# Files under the data dir, by the layout of the published data sets.
PHILLY_JOBS = "philly-vc/jobs.csv.gz"
PHILLY_NODES = "vc-capacity/philly_vc_nodes.csv"
# Where taskgov keeps its own files by default: the local broker's record, the demo's record,
# the worker's Faust data and the watcher's checkpoint.
STATE_DIR = Path(".taskgov")
# No Kueue cluster ran before 2015; a clock two days ahead of the worker's is wrong.
EARLIEST_EVENT_TIME = datetime(2015, 1, 1, tzinfo=UTC)
EVENT_MAX_AHEAD_DAYS = 2.0
BROKER_MAX_OUTAGE_S = 300.0
# How often the worker audits the aggregates it changed against the log (an hour of changes
# costs seconds to audit even at 10M events; see the README's incremental audit).
AUDIT_EVERY_S = 3600.0


class Settings(BaseSettings):
    """Every endpoint and knob, so production and the local demo differ only in settings."""

    model_config = SettingsConfigDict(env_prefix="TASKGOV_", extra="forbid", frozen=True)

    # Kafka bootstrap servers; empty means start the local broker (see spec/local-kafka.md).
    kafka_bootstrap: str = ""
    # The cohort every compiled team ClusterQueue joins.
    cohort_name: str = "shared-pool"
    # The Kueue API version compiled objects are written in and the watcher reads (v1beta1 is
    # deprecated since Kueue 0.16; choose it only for a Kueue that does not serve v1beta2).
    kueue_api_version: Literal["v1beta1", "v1beta2"] = "v1beta2"
    # Where the DuckDB system of record lives.
    duckdb_path: Path = STATE_DIR / "taskgov.duckdb"
    # The cluster traces (philly-vc/, vc-capacity/, ...) that `--trace philly` reads.
    data_dir: Path = PACKAGED_DATA_DIR
    # The worker keeps an event as a dead letter when it happened before this, or more than
    # this many days after the worker's clock: a clock at 1970 or 9999 would make the
    # aggregates span decades, one row per minute.
    event_time_earliest: datetime = EARLIEST_EVENT_TIME
    event_time_max_ahead_days: float = Field(default=EVENT_MAX_AHEAD_DAYS, gt=0)
    # Seconds the worker waits for a broker that stopped answering before it exits 1.
    broker_max_outage_s: float = Field(default=BROKER_MAX_OUTAGE_S, gt=0)
    # Seconds between the worker's own incremental audits of the aggregates (0: never).
    audit_every_s: float = Field(default=AUDIT_EVERY_S, ge=0)
    # `taskgov sql`: DuckDB's memory limit for the one query, and the seconds it may run.
    sql_memory_limit: str = "1GB"
    sql_timeout_s: float = Field(default=60.0, gt=0)
    # Where `taskgov serve` listens (port 0: any free port; the first line it prints says which).
    serve_host: str = "127.0.0.1"
    serve_port: int = 8000


def data_file(data_dir: Path, name: str) -> Path:
    """The file ``name`` under ``data_dir``, gzip-compressed (``.gz``) or not.

    The packaged traces are compressed; a ``data_dir`` holding the published files as they
    come (``jobs.csv``) works as well.
    """
    path = data_dir / name
    plain = path.with_suffix("") if path.suffix == ".gz" else path
    for candidate in (path, plain, plain.with_name(plain.name + ".gz")):
        if candidate.is_file():
            return candidate
    return path


def load_settings(config_file: Path | None = None) -> Settings:
    """Settings from ``config_file`` (or ``$TASKGOV_CONFIG``), overridden by the environment.

    Raises:
        InputError: the file is unreadable or holds an unknown or invalid setting.
    """
    path = config_file or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    from_file: dict[str, object] = {}
    source = str(path) if path else "environment"
    if path is not None:
        loaded = load_one(read_text(path), source) or {}
        if not isinstance(loaded, dict):
            raise InputError([Fault(source, "settings", "", "must be a mapping of setting: value")])
        from_file = {str(key).replace("-", "_"): value for key, value in loaded.items()}
    env_names = {name for name in Settings.model_fields if f"TASKGOV_{name.upper()}" in os.environ}
    try:
        # Values from the file are passed as init arguments; drop those the environment sets.
        return Settings(**{k: v for k, v in from_file.items() if k not in env_names})  # type: ignore[arg-type]
    except ValidationError as error:
        raise InputError(setting_faults(error, source, "settings")) from None


def setting_faults(error: ValidationError, source: str, subject: str) -> list[Fault]:
    """One fault per invalid setting of a settings model, named by its dotted path."""
    return [
        Fault(
            source,
            subject,
            ".".join(str(part) for part in item["loc"]),
            "unknown setting"
            if item["type"] == "extra_forbidden"
            else item["msg"].removeprefix("Value error, "),
        )
        for item in error.errors()
    ]
