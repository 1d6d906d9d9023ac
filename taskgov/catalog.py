"""Accelerated instance types HyperPod accepts, with the resources one instance brings.

The numbers come from the public EC2 instance specifications; the list of names is
botocore's ``sagemaker`` enum ``ClusterInstanceType`` restricted to accelerated types.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

AcceleratorResource = Literal["nvidia.com/gpu", "aws.amazon.com/neurondevice"]


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """What one instance of a type contributes to a team's quota."""

    instance_type: str
    accelerator_resource: AcceleratorResource
    accelerator_count: int
    accelerator_model: str
    vcpu: int
    memory_gib: int


@cache
def instance_catalog() -> dict[str, InstanceSpec]:
    """All known accelerated instance types, keyed by SageMaker name (``ml.g5.8xlarge``)."""
    text = resources.files("taskgov").joinpath("data/instance_types.csv").read_text()
    catalog: dict[str, InstanceSpec] = {}
    for row in csv.DictReader(text.splitlines()):
        catalog[row["instance_type"]] = InstanceSpec(
            instance_type=row["instance_type"],
            accelerator_resource=row["accelerator_resource"],  # type: ignore[arg-type]
            accelerator_count=int(row["accelerator_count"]),
            accelerator_model=row["accelerator_model"],
            vcpu=int(row["vcpu"]),
            memory_gib=int(row["memory_gib"]),
        )
    return catalog
