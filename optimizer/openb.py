"""The Alibaba PAI ``openb`` GPU pod list as a job trace.

``openb_pod_list_*.csv`` (alibaba/clusterdata ``cluster-trace-gpu-v2023``, CC BY 4.0) lists
pods: ``name, cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec, qos, pod_phase,
creation_time, deletion_time, scheduled_time`` (seconds). It has no team column, so teams
are derived, deterministically, from what the pods ask for: the QoS class (``LS``, ``BE``,
``Burstable``, ``Guaranteed``) and whether the pod takes whole GPUs (``gpu_milli`` 1000) or
shares one (less), e.g. ``ls-whole`` or ``be-shared``: six teams on the default list,
from 3,252 pods down to 6. Pods without a GPU are left out (there is no GPU quota to govern
them). A pod asks for ``num_gpu`` GPUs; a shared GPU counts as a whole one, as a Kueue
``nvidia.com/gpu`` quota does. A pod is submitted at ``creation_time`` and runs from
``scheduled_time`` to ``deletion_time``; a pod never scheduled runs, in the replay, for its
whole life (``deletion_time - creation_time``): what it asked for. The file may be gzipped.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from taskgov.errors import Fault, InputError

OPENB_COLUMNS = (
    "name",
    "num_gpu",
    "gpu_milli",
    "qos",
    "creation_time",
    "deletion_time",
    "scheduled_time",
)
WHOLE_GPU_MILLI = 1000


def _header(path: Path) -> list[str]:
    try:
        return pl.read_csv(path, n_rows=1, infer_schema=False).columns
    except (OSError, pl.exceptions.PolarsError):
        return []


def is_openb(path: str | Path) -> bool:
    """Whether the file is an openb pod list (by its columns)."""
    path = Path(path)
    if not path.name.lower().endswith((".csv", ".csv.gz")):
        return False
    return set(OPENB_COLUMNS) <= set(_header(path))


def read_openb(path: str | Path, *, instance_type: str, limit: int | None = None) -> pl.DataFrame:
    """The pods as workloads (:data:`optimizer.replay.WORKLOAD_COLUMNS`), by creation time.

    Raises:
        InputError: an unreadable file or a cell that is not a whole number.
    """
    path = Path(path)
    try:
        table = pl.read_csv(path, infer_schema=False, columns=list(OPENB_COLUMNS))
        typed = table.with_columns(
            pl.col(c).cast(pl.Int64)
            for c in ("num_gpu", "gpu_milli", "creation_time", "deletion_time")
        ).with_columns(pl.col("scheduled_time").cast(pl.Int64))
    except (OSError, pl.exceptions.PolarsError) as error:
        message = f"cannot read as an openb pod list: {str(error).splitlines()[0]}"
        raise InputError([Fault(str(path), "", "", message)]) from None
    shape = pl.when(pl.col("gpu_milli") >= WHOLE_GPU_MILLI).then(pl.lit("whole"))
    started = pl.coalesce("scheduled_time", "creation_time")
    jobs = (
        typed.filter(pl.col("num_gpu") > 0)
        .select(
            team=pl.col("qos").str.to_lowercase() + "-" + shape.otherwise(pl.lit("shared")),
            instance_type=pl.lit(instance_type),
            accelerators=pl.col("num_gpu"),
            submit_s=pl.col("creation_time").cast(pl.Float64),
            run_s=(pl.col("deletion_time") - started).clip(lower_bound=0).cast(pl.Float64),
            priority_class=pl.lit(None, pl.String),
        )
        .sort("submit_s", maintain_order=True)
    )
    return jobs if limit is None else jobs.head(limit)
