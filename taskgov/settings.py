"""Settings from a YAML file and ``TASKGOV_*`` environment variables (the environment wins)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from taskgov.errors import Fault, InputError

CONFIG_ENV = "TASKGOV_CONFIG"


class Settings(BaseSettings):
    """Every endpoint and knob, so production and the local demo differ only in settings."""

    model_config = SettingsConfigDict(env_prefix="TASKGOV_", extra="forbid", frozen=True)

    # Kafka bootstrap servers; empty means start the local broker (see spec/local-kafka.md).
    kafka_bootstrap: str = ""
    # The cohort every compiled team ClusterQueue joins.
    cohort_name: str = "shared-pool"
    # The Kueue API version compiled objects are written in.
    kueue_api_version: Literal["v1beta1", "v1beta2"] = "v1beta1"
    # Where the DuckDB system of record lives.
    duckdb_path: Path = Path("taskgov.duckdb")
    # The shared cluster traces (philly-vc/, vc-capacity/, ...) that `--trace philly` reads.
    data_dir: Path = Path("../shared/data")
    # Where `taskgov serve` listens (port 0: any free port; the first line it prints says which).
    serve_host: str = "127.0.0.1"
    serve_port: int = 8000


def load_settings(config_file: Path | None = None) -> Settings:
    """Settings from ``config_file`` (or ``$TASKGOV_CONFIG``), overridden by the environment.

    Raises:
        InputError: the file is unreadable or holds an unknown or invalid setting.
    """
    path = config_file or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    from_file: dict[str, object] = {}
    source = str(path) if path else "environment"
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise InputError([Fault(source, "settings", "", f"cannot read: {error}")]) from None
        if not isinstance(loaded, dict):
            raise InputError([Fault(source, "settings", "", "must be a mapping of setting: value")])
        from_file = {str(key).replace("-", "_"): value for key, value in loaded.items()}
    env_names = {name for name in Settings.model_fields if f"TASKGOV_{name.upper()}" in os.environ}
    try:
        # Values from the file are passed as init arguments; drop those the environment sets.
        return Settings(**{k: v for k, v in from_file.items() if k not in env_names})  # type: ignore[arg-type]
    except ValidationError as error:
        faults = [
            Fault(
                source,
                "settings",
                ".".join(str(p) for p in item["loc"]),
                "unknown setting" if item["type"] == "extra_forbidden" else item["msg"],
            )
            for item in error.errors()
        ]
        raise InputError(faults) from None
