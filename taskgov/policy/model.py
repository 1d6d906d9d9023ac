"""The governance policy in the SageMaker API shapes (botocore ``sagemaker`` 2017-07-24).

Field names, enums, ranges and patterns follow ``CreateClusterSchedulerConfig``,
``CreateComputeQuota`` and ``CreateCluster``; a ``Cluster`` describes which instances exist.
Types are strict, as botocore's parameter validation is: ``Weight: true`` or ``Name: 7`` are
errors. Only scalars written in CLI shorthand (:class:`ShorthandText`) are converted to the
shape's number type, which is what the AWS CLI does with them.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_pascal

from taskgov.catalog import instance_catalog
from taskgov.kueue.hyperpod import NAMESPACE_PREFIX, PRIORITY_CLASS_SUFFIX
from taskgov.policy.shorthand import ShorthandText

# botocore: ClusterSchedulerPriorityClassName and ComputeQuotaTargetTeamName, whose pattern
# ``[a-z0-9]([-a-z0-9]*[a-z0-9]){0,39}?`` is this language written without nested repetition
# (the nested form backtracks exponentially on a long name that does not match).
NAME_PATTERN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# botocore: EntityName (1 to 63), ClusterName and ClusterInstanceGroupName (1 to 63).
ENTITY_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
MAX_ENTITY_NAME_LENGTH = 63
# botocore: EntityDescription.
MAX_DESCRIPTION_LENGTH = 1024
# botocore: ClusterInstanceCount.
MAX_CLUSTER_INSTANCE_COUNT = 6758
# botocore: InstanceCount, AcceleratorsAmount, VCpuAmount, MemoryInGiBAmount.
MAX_AMOUNT = 10_000_000
# A Kubernetes namespace is a DNS label: ``hyperpod-ns-<team>`` must fit in 63 characters.
MAX_TEAM_NAME_LENGTH = 63 - len(NAMESPACE_PREFIX)
# A WorkloadPriorityClass ``<name>-priority`` is a DNS subdomain: at most 253 characters.
MAX_PRIORITY_CLASS_NAME_LENGTH = 253 - len(PRIORITY_CLASS_SUFFIX)
_INTEGER_TEXT = re.compile(r"[+-]?\d{1,19}")
_NUMBER_TEXT = re.compile(r"[+-]?(\d{1,19}(\.\d{0,19})?|\.\d{1,19})")


def _integer_from_shorthand(value: object) -> object:
    if isinstance(value, ShorthandText) and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    return value


def _number_from_shorthand(value: object) -> object:
    if isinstance(value, ShorthandText) and _NUMBER_TEXT.fullmatch(value):
        return float(value)
    return value


# An API integer: YAML integers as they are, shorthand digits converted, nothing else.
ApiInt = Annotated[int, BeforeValidator(_integer_from_shorthand)]
# An API float: finite, from YAML numbers or shorthand decimals.
ApiFloat = Annotated[float, BeforeValidator(_number_from_shorthand), Field(allow_inf_nan=False)]
MigProfile = Literal[
    "mig-1g.5gb", "mig-1g.10gb", "mig-1g.18gb", "mig-1g.20gb", "mig-1g.23gb", "mig-1g.35gb",
    "mig-1g.45gb", "mig-1g.47gb", "mig-2g.10gb", "mig-2g.20gb", "mig-2g.35gb", "mig-2g.45gb",
    "mig-2g.47gb", "mig-3g.20gb", "mig-3g.40gb", "mig-3g.71gb", "mig-3g.90gb", "mig-3g.93gb",
    "mig-4g.20gb", "mig-4g.40gb", "mig-4g.71gb", "mig-4g.90gb", "mig-4g.93gb", "mig-7g.40gb",
    "mig-7g.80gb", "mig-7g.141gb", "mig-7g.180gb", "mig-7g.186gb",
]  # fmt: skip

Toggle = Literal["Enabled", "Disabled"]
SharingStrategy = Literal["Lend", "DontLend", "LendAndBorrow"]
PreemptTeamTasks = Literal["Never", "LowerPriority"]


class ApiShape(BaseModel):
    """An immutable API shape that rejects unknown members, named as the API names them."""

    model_config = ConfigDict(
        alias_generator=to_pascal,
        populate_by_name=True,
        frozen=True,
        extra="forbid",
        strict=True,
    )


def _check_name(value: str, what: str, max_length: int) -> str:
    """A lowercase DNS-label-like name; the length is checked first, the pattern then."""
    if len(value) > max_length:
        raise ValueError(f"{what} has {len(value)} characters; at most {max_length} are allowed")
    if not NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} must be lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def check_entity_name(value: str, what: str) -> str:
    """botocore's EntityName, ClusterName and ClusterInstanceGroupName: 1 to 63 characters.

    Raises:
        ValueError: the name is too long or not letters, digits and single or repeated '-'.
    """
    if len(value) > MAX_ENTITY_NAME_LENGTH:
        raise ValueError(
            f"{what} has {len(value)} characters; at most {MAX_ENTITY_NAME_LENGTH} are allowed"
        )
    if not ENTITY_NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} must be 1 to {MAX_ENTITY_NAME_LENGTH} letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


class PriorityClass(ApiShape):
    """A task priority class; HyperPod makes a WorkloadPriorityClass of it."""

    name: str
    weight: Annotated[ApiInt, Field(ge=0, le=100)]

    @field_validator("name")
    @classmethod
    def _name_pattern(cls, value: str) -> str:
        return _check_name(value, "priority class name", MAX_PRIORITY_CLASS_NAME_LENGTH)


class SchedulerConfig(ApiShape):
    """The cluster policy: task ranking and how idle compute is shared."""

    priority_classes: Annotated[list[PriorityClass], Field(max_length=10)] = []
    fair_share: Toggle = "Enabled"
    idle_resource_sharing: Toggle = "Disabled"


class AcceleratorPartition(ApiShape):
    """A MIG partition of the accelerators (read so the fault can say it is unsupported)."""

    type: MigProfile
    count: Annotated[ApiInt, Field(ge=0, le=MAX_AMOUNT)]


class ComputeQuotaResource(ApiShape):
    """Compute for one instance type: whole instances, or explicit amounts."""

    instance_type: str
    count: Annotated[ApiInt | None, Field(ge=0, le=MAX_AMOUNT)] = None
    accelerators: Annotated[ApiInt | None, Field(ge=0, le=MAX_AMOUNT)] = None
    vcpu: Annotated[ApiFloat | None, Field(ge=0, le=MAX_AMOUNT, alias="VCpu")] = None
    memory_gib: Annotated[ApiFloat | None, Field(ge=0, le=MAX_AMOUNT, alias="MemoryInGiB")] = None
    accelerator_partition: AcceleratorPartition | None = None

    @field_validator("instance_type")
    @classmethod
    def _known_instance_type(cls, value: str) -> str:
        catalog = instance_catalog()
        if len(value) > MAX_ENTITY_NAME_LENGTH:
            raise ValueError(f"unknown accelerated instance type of {len(value)} characters")
        if value not in catalog:
            close = difflib.get_close_matches(value, list(catalog), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown accelerated instance type {value!r}{hint}")
        return value


class ResourceSharingConfig(ApiShape):
    """Whether a team lends idle quota, borrows idle quota, and how much it may borrow."""

    strategy: SharingStrategy
    # Percent of the team's own nominal quota it may borrow on top; the API's default is 50.
    borrow_limit: Annotated[ApiInt | None, Field(ge=0, le=10_000)] = None
    absolute_borrow_limits: Annotated[list[ComputeQuotaResource], Field(max_length=15)] = []


class ComputeQuotaConfig(ApiShape):
    """A team's guaranteed compute and its sharing rules."""

    compute_quota_resources: Annotated[list[ComputeQuotaResource], Field(max_length=15)] = []
    resource_sharing_config: ResourceSharingConfig = ResourceSharingConfig(strategy="LendAndBorrow")
    preempt_team_tasks: PreemptTeamTasks = "LowerPriority"


class ComputeQuotaTarget(ApiShape):
    """The team a compute allocation is for."""

    team_name: str
    fair_share_weight: Annotated[ApiInt | None, Field(ge=0, le=100)] = None

    @field_validator("team_name")
    @classmethod
    def _team_name(cls, value: str) -> str:
        if len(value) > MAX_TEAM_NAME_LENGTH:
            raise ValueError(
                f"team name has {len(value)} characters; at most "
                f"{MAX_TEAM_NAME_LENGTH} fit in the namespace name {NAMESPACE_PREFIX}<team>"
            )
        return _check_name(value, "team name", MAX_TEAM_NAME_LENGTH)


class ComputeQuota(ApiShape):
    """One compute allocation, as ``aws sagemaker create-compute-quota`` takes it."""

    name: str
    description: Annotated[str | None, Field(max_length=MAX_DESCRIPTION_LENGTH)] = None
    compute_quota_config: ComputeQuotaConfig
    compute_quota_target: ComputeQuotaTarget
    activation_state: Toggle = "Enabled"

    @field_validator("name")
    @classmethod
    def _entity_name(cls, value: str) -> str:
        return check_entity_name(value, "allocation name")

    @field_validator("description")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        """botocore's pattern: letters, marks, separators, symbols, numbers, punctuation."""
        for position, char in enumerate(value or ""):
            if unicodedata.category(char).startswith("C"):
                raise ValueError(
                    f"description has the control or unassigned character {char!r} "
                    f"at position {position}"
                )
        return value


class InstanceGroup(ApiShape):
    """Instances of one type in the cluster (a HyperPod instance group)."""

    instance_group_name: str | None = None
    instance_type: str
    instance_count: Annotated[ApiInt, Field(ge=0, le=MAX_CLUSTER_INSTANCE_COUNT)]

    _known_instance_type = field_validator("instance_type")(
        ComputeQuotaResource._known_instance_type.__func__  # type: ignore[attr-defined]
    )

    @field_validator("instance_group_name")
    @classmethod
    def _group_name(cls, value: str | None) -> str | None:
        return None if value is None else check_entity_name(value, "instance group name")


class Cluster(ApiShape):
    """The HyperPod cluster's instances, the capacity every quota is carved from."""

    name: str
    instance_groups: Annotated[list[InstanceGroup], Field(min_length=1, max_length=100)]

    @field_validator("name")
    @classmethod
    def _cluster_name(cls, value: str) -> str:
        return check_entity_name(value, "cluster name")

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

    @field_validator("name")
    @classmethod
    def _scheduler_config_name(cls, value: str) -> str:
        return check_entity_name(value, "scheduler config name")

    def active_quotas(self) -> list[ComputeQuota]:
        """Allocations that take effect; disabled ones compile to nothing."""
        return [q for q in self.compute_quotas if q.activation_state == "Enabled"]
