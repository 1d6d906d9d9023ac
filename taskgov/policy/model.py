"""The governance policy in the SageMaker API shapes (botocore ``sagemaker`` 2017-07-24).

Field names, enums, ranges and patterns follow ``CreateClusterSchedulerConfig`` and
``CreateComputeQuota``; a ``Cluster`` describes which instances exist.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_pascal

from taskgov.catalog import instance_catalog

# botocore: ClusterSchedulerPriorityClassName and ComputeQuotaTargetTeamName.
NAME_PATTERN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9]){0,39}?")
# botocore: EntityName.
ENTITY_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
# A Kubernetes namespace is a DNS label: ``hyperpod-ns-<team>`` must fit in 63 characters.
NAMESPACE_PREFIX = "hyperpod-ns-"
MAX_TEAM_NAME_LENGTH = 63 - len(NAMESPACE_PREFIX)

Toggle = Literal["Enabled", "Disabled"]
SharingStrategy = Literal["Lend", "DontLend", "LendAndBorrow"]
PreemptTeamTasks = Literal["Never", "LowerPriority"]


class ApiShape(BaseModel):
    """An immutable API shape that rejects unknown members, named as the API names them."""

    model_config = ConfigDict(
        alias_generator=to_pascal, populate_by_name=True, frozen=True, extra="forbid"
    )


def _check_name(value: str, what: str) -> str:
    if not NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} must be lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


class PriorityClass(ApiShape):
    """A task priority class; HyperPod makes a WorkloadPriorityClass of it."""

    name: str
    weight: Annotated[int, Field(ge=0, le=100)]

    @field_validator("name")
    @classmethod
    def _name_pattern(cls, value: str) -> str:
        return _check_name(value, "priority class name")


class SchedulerConfig(ApiShape):
    """The cluster policy: task ranking and how idle compute is shared."""

    priority_classes: Annotated[list[PriorityClass], Field(max_length=10)] = []
    fair_share: Toggle = "Enabled"
    idle_resource_sharing: Toggle = "Disabled"


class ComputeQuotaResource(ApiShape):
    """Compute for one instance type: whole instances, or explicit amounts."""

    instance_type: str
    count: Annotated[int | None, Field(ge=0, le=10_000_000)] = None
    accelerators: Annotated[int | None, Field(ge=0, le=10_000_000)] = None
    vcpu: Annotated[float | None, Field(ge=0, le=10_000_000, alias="VCpu")] = None
    memory_gib: Annotated[float | None, Field(ge=0, le=10_000_000, alias="MemoryInGiB")] = None
    # Accepted so that the fault can say MIG is unsupported rather than "unknown field".
    accelerator_partition: dict[str, object] | None = None

    @field_validator("instance_type")
    @classmethod
    def _known_instance_type(cls, value: str) -> str:
        catalog = instance_catalog()
        if value not in catalog:
            close = difflib.get_close_matches(value, list(catalog), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown accelerated instance type {value!r}{hint}")
        return value


class ResourceSharingConfig(ApiShape):
    """Whether a team lends idle quota, borrows idle quota, and how much it may borrow."""

    strategy: SharingStrategy
    # Percent of the team's own nominal quota it may borrow on top; the API's default is 50.
    borrow_limit: Annotated[int | None, Field(ge=0, le=10_000)] = None
    absolute_borrow_limits: Annotated[list[ComputeQuotaResource], Field(max_length=15)] = []


class ComputeQuotaConfig(ApiShape):
    """A team's guaranteed compute and its sharing rules."""

    compute_quota_resources: Annotated[list[ComputeQuotaResource], Field(max_length=15)] = []
    resource_sharing_config: ResourceSharingConfig = ResourceSharingConfig(strategy="LendAndBorrow")
    preempt_team_tasks: PreemptTeamTasks = "LowerPriority"


class ComputeQuotaTarget(ApiShape):
    """The team a compute allocation is for."""

    team_name: str
    fair_share_weight: Annotated[int | None, Field(ge=0, le=100)] = None

    @field_validator("team_name")
    @classmethod
    def _team_name(cls, value: str) -> str:
        _check_name(value, "team name")
        if len(value) > MAX_TEAM_NAME_LENGTH:
            raise ValueError(
                f"team name {value!r} has {len(value)} characters; at most "
                f"{MAX_TEAM_NAME_LENGTH} fit in the namespace name {NAMESPACE_PREFIX}<team>"
            )
        return value


class ComputeQuota(ApiShape):
    """One compute allocation, as ``aws sagemaker create-compute-quota`` takes it."""

    name: str
    description: str | None = None
    compute_quota_config: ComputeQuotaConfig
    compute_quota_target: ComputeQuotaTarget
    activation_state: Toggle = "Enabled"

    @field_validator("name")
    @classmethod
    def _entity_name(cls, value: str) -> str:
        if not ENTITY_NAME_PATTERN.fullmatch(value):
            raise ValueError(
                f"allocation name {value!r} must be 1 to 63 letters, digits and '-', "
                "starting and ending with a letter or digit"
            )
        return value


class InstanceGroup(ApiShape):
    """Instances of one type in the cluster (a HyperPod instance group)."""

    instance_group_name: str | None = None
    instance_type: str
    instance_count: Annotated[int, Field(ge=0)]

    _known_instance_type = field_validator("instance_type")(
        ComputeQuotaResource._known_instance_type.__func__  # type: ignore[attr-defined]
    )


class Cluster(ApiShape):
    """The HyperPod cluster's instances, the capacity every quota is carved from."""

    name: str
    instance_groups: Annotated[list[InstanceGroup], Field(min_length=1)]

    def instance_counts(self) -> dict[str, int]:
        """Instances per type, summed over groups, in first-seen order."""
        counts: dict[str, int] = {}
        for group in self.instance_groups:
            counts[group.instance_type] = counts.get(group.instance_type, 0) + group.instance_count
        return counts


class Policy(ApiShape):
    """A cluster policy and the compute allocations of every team."""

    name: str
    scheduler_config: SchedulerConfig = SchedulerConfig()
    compute_quotas: list[ComputeQuota] = []

    def active_quotas(self) -> list[ComputeQuota]:
        """Allocations that take effect; disabled ones compile to nothing."""
        return [q for q in self.compute_quotas if q.activation_state == "Enabled"]
