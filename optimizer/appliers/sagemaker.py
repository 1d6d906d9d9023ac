"""The SageMaker HyperPod task-governance applier: boto3, compute quotas and scheduler config.

Reads IDs, versions and the live config with ``ListComputeQuotas`` / ``DescribeComputeQuota``
(and the scheduler config likewise), updates with ``TargetVersion`` so a concurrent edit is a
``ConflictException``, never a silent overwrite, and creates an allocation for a team without
one. boto3 is an optional extra, imported when this applier is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from optimizer.appliers import base
from optimizer.appliers.quotas import NO_QUOTA, team_quota
from taskgov.policy.model import ComputeQuota, Policy

# The fields of a ComputeQuota that govern; Name and Description are labels.
GOVERNED = ("ComputeQuotaConfig", "ComputeQuotaTarget", "ActivationState")
LIVE_STATUSES = {"Creating", "Created", "Updating", "Updated", "CreateFailed", "UpdateFailed"}


@dataclass(frozen=True, slots=True)
class SageMakerTarget:
    """Where the governance API is and which cluster's allocations to read.

    Attributes:
        cluster_name: the HyperPod cluster (its ARN is looked up when ``cluster_arn`` is unset).
        cluster_arn: the cluster's ARN.
        endpoint_url: the SageMaker endpoint (``None``: the AWS default for the region).
        region: the AWS region.
    """

    cluster_name: str
    cluster_arn: str | None = None
    endpoint_url: str | None = None
    region: str = "us-west-2"


def quota_body(quota: ComputeQuota) -> dict[str, Any]:
    """An allocation in the API's own shape (PascalCase members, unset members left out)."""
    return quota.model_dump(mode="json", by_alias=True, exclude_none=True)


def _governed(body: dict[str, Any]) -> dict[str, Any]:
    """What an allocation sets, normalised through our model so defaults compare equal."""
    quota = ComputeQuota.model_validate({"Name": body.get("Name", "x"), **_pick(body, GOVERNED)})
    dumped = quota_body(quota)
    return _pick(dumped, GOVERNED)


def _pick(body: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: body[k] for k in keys if k in body}


class SageMakerApplier:
    """Compute quotas and the scheduler config of one cluster, through boto3."""

    backend = base.Backend.SAGEMAKER

    def __init__(self, target: SageMakerTarget) -> None:
        try:
            import boto3
            import botocore.exceptions
        except ImportError as missing:  # pragma: no cover - depends on the install
            raise base.ApplyError(
                "the SageMaker applier needs boto3: pip install 'taskgov[aws]'"
            ) from missing
        self._errors = botocore.exceptions
        session = boto3.session.Session(region_name=target.region)
        self._client = session.client("sagemaker", endpoint_url=target.endpoint_url)
        self._sts = session.client("sts", endpoint_url=target.endpoint_url)
        self.endpoint = str(self._client.meta.endpoint_url)
        self._target = target
        self._cluster_arn = target.cluster_arn

    def _call(self, client: Any, operation: str, **params: Any) -> dict[str, Any]:
        """One API call; its errors become ours, each naming the endpoint and the cause."""
        errors = self._errors
        try:
            response: dict[str, Any] = getattr(client, operation)(**params)
        except errors.NoCredentialsError:
            raise base.ApplyError(
                "no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
                "AWS_PROFILE)"
            ) from None
        except errors.EndpointConnectionError:
            raise base.ApplyError(f"cannot reach the SageMaker endpoint {self.endpoint}") from None
        except errors.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", "")
            text = f"{operation} at {self.endpoint}: {code}: {message}"
            if code == "ConflictException":
                raise base.ConflictError(text) from None
            raise base.ApplyError(text) from None
        response.pop("ResponseMetadata", None)
        return response

    def caller(self) -> str:
        """The ARN of the AWS identity the calls are signed as."""
        return str(self._call(self._sts, "get_caller_identity")["Arn"])

    def cluster_arn(self) -> str:
        """The cluster's ARN, looked up by name once when not given."""
        if self._cluster_arn is None:
            name = self._target.cluster_name
            found = self._call(self._client, "list_clusters")
            arns = [c["ClusterArn"] for c in found.get("ClusterSummaries", [])]
            names = [c["ClusterName"] for c in found.get("ClusterSummaries", [])]
            if name not in names:
                raise base.ApplyError(
                    f"no HyperPod cluster named {name!r} at {self.endpoint} "
                    f"(clusters there: {', '.join(names) or 'none'})"
                )
            self._cluster_arn = arns[names.index(name)]
        return self._cluster_arn

    def read_live(self) -> base.LiveState:
        """Every team's allocation (id, version, config) and the scheduler config."""
        arn = self.cluster_arn()
        objects: dict[str, base.LiveObject] = {}
        params: dict[str, Any] = {"ClusterArn": arn}
        while True:
            page = self._call(self._client, "list_compute_quotas", **params)
            for summary in page.get("ComputeQuotaSummaries", []):
                if summary.get("Status") not in LIVE_STATUSES:
                    continue
                live = self._describe_quota(summary["ComputeQuotaId"])
                objects[live.body["ComputeQuotaTarget"]["TeamName"]] = live
            if not page.get("NextToken"):
                break
            params["NextToken"] = page["NextToken"]
        quotas = {
            team: team_quota(ComputeQuota.model_validate(o.body)) for team, o in objects.items()
        }
        return base.LiveState(objects=objects, quotas=quotas, scheduler=self._scheduler(arn))

    def _describe_quota(self, quota_id: str) -> base.LiveObject:
        described = self._call(self._client, "describe_compute_quota", ComputeQuotaId=quota_id)
        body = _pick(described, ("Name", "Description", *GOVERNED))
        return base.LiveObject(
            name=described["Name"],
            object_id=quota_id,
            version=str(described["ComputeQuotaVersion"]),
            body=body,
        )

    def _scheduler(self, arn: str) -> base.LiveObject | None:
        page = self._call(self._client, "list_cluster_scheduler_configs", ClusterArn=arn)
        for summary in page.get("ClusterSchedulerConfigSummaries", []):
            if summary.get("Status") not in LIVE_STATUSES:
                continue
            config_id = summary["ClusterSchedulerConfigId"]
            described = self._call(
                self._client,
                "describe_cluster_scheduler_config",
                ClusterSchedulerConfigId=config_id,
            )
            return base.LiveObject(
                name=described["Name"],
                object_id=config_id,
                version=str(described["ClusterSchedulerConfigVersion"]),
                body={"SchedulerConfig": described.get("SchedulerConfig", {})},
            )
        return None

    def desired(self, policy: Policy, team: str) -> base.Desired:
        """``team``'s allocation under ``policy`` (none: an allocation that guarantees nothing)."""
        for quota in policy.compute_quotas:
            if quota.compute_quota_target.team_name == team:
                return base.Desired(team, quota_body(quota), team_quota(quota))
        raise base.ApplyError(f"the plan has no allocation for team {team!r}")

    def restore(self, team: str, body: dict[str, Any] | None) -> base.Desired:
        """The recorded allocation; a team that had none gets its new one disabled."""
        if body is None:
            return base.Desired(team, {"ActivationState": "Disabled"}, NO_QUOTA)
        return base.Desired(team, dict(body), team_quota(ComputeQuota.model_validate(body)))

    def call_for(self, live: base.LiveState, desired: base.Desired) -> base.Call | None:
        """``UpdateComputeQuota`` with ``TargetVersion``, or ``CreateComputeQuota``."""
        existing = live.objects.get(desired.team)
        if existing is None:
            if desired.body.get("ActivationState") == "Disabled" and "Name" not in desired.body:
                return None
            request = {"ClusterArn": self.cluster_arn(), **desired.body}
            name = str(desired.body["Name"])
            return base.Call(
                desired.team,
                "ComputeQuota",
                name,
                "CreateComputeQuota",
                request,
                None,
                desired.body,
            )
        after = {**existing.body, **_pick(desired.body, GOVERNED)}
        if _governed(after) == _governed(existing.body):
            return None
        request = {
            "ComputeQuotaId": existing.object_id,
            "TargetVersion": int(existing.version),
            **_pick(after, GOVERNED),
        }
        return base.Call(
            desired.team,
            "ComputeQuota",
            existing.name,
            "UpdateComputeQuota",
            request,
            existing.body,
            after,
        )

    def make(self, call: base.Call) -> dict[str, Any]:
        """Send the call with boto3."""
        operation = {
            "CreateComputeQuota": "create_compute_quota",
            "UpdateComputeQuota": "update_compute_quota",
            "UpdateClusterSchedulerConfig": "update_cluster_scheduler_config",
        }[call.operation]
        return self._call(self._client, operation, **call.request)

    def scheduler_call(self, live: base.LiveState, policy: Policy) -> base.Call | None:
        """``UpdateClusterSchedulerConfig`` when FairShare or the priority classes change."""
        if live.scheduler is None:
            return None
        wanted = policy.scheduler_config.model_dump(mode="json", by_alias=True, exclude_none=True)
        current = live.scheduler.body["SchedulerConfig"]
        if _scheduler_key(wanted) == _scheduler_key(current):
            return None
        request = {
            "ClusterSchedulerConfigId": live.scheduler.object_id,
            "TargetVersion": int(live.scheduler.version),
            "SchedulerConfig": wanted,
        }
        return base.Call(
            None,
            "ClusterSchedulerConfig",
            live.scheduler.name,
            "UpdateClusterSchedulerConfig",
            request,
            live.scheduler.body,
            {"SchedulerConfig": wanted},
        )


def _scheduler_key(config: dict[str, Any]) -> tuple[object, ...]:
    classes = sorted((c["Name"], c["Weight"]) for c in config.get("PriorityClasses", []))
    return (
        tuple(classes),
        config.get("FairShare", "Enabled"),
        config.get("IdleResourceSharing", "Disabled"),
    )
