"""The twin's SageMaker endpoint: cluster scheduler config and compute quotas, as boto3 sees them.

Speaks the JSON 1.1 protocol of the ``sagemaker`` service (``X-Amz-Target: SageMaker.<Op>``)
and STS's ``GetCallerIdentity``, at the same address as the twin's Kubernetes API, so boto3's
``endpoint_url`` is the kubeconfig's server. Requests are validated against the service model
botocore ships (the same checks AWS makes before its own), versions are kept per object, and a
stale ``TargetVersion`` is a ``ConflictException``. The twin knows nothing of the policy layer:
it holds the objects as the API shapes them and hands every change to ``on_change``, which the
composer (``taskgov twin serve``) turns into ClusterQueues for the running twin.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
LIVE = ("Created", "Updated")


class ApiError(Exception):
    """An error as AWS returns it: HTTP status, ``__type`` and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def short_id(*parts: str) -> str:
    """A 12-character lowercase id, stable for the same parts (AWS ids match ``[a-z0-9]{12}``)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:12]


@dataclass(slots=True)
class Record:
    """One versioned object: a compute quota or the scheduler config."""

    object_id: str
    arn: str
    name: str
    body: dict[str, Any]
    version: int = 1
    status: str = "Created"
    created: float = field(default_factory=time.time)
    modified: float = field(default_factory=time.time)
    created_by: str = ""


Change = Callable[["GovernanceState"], None]


class GovernanceState:
    """One cluster's compute quotas and scheduler config, versioned, thread-safe."""

    def __init__(self, cluster_name: str, region: str = "us-west-2") -> None:
        self.cluster_name = cluster_name
        self.region = region
        self.cluster_arn = self._arn("cluster", short_id("cluster", cluster_name))
        self.quotas: dict[str, Record] = {}
        self.scheduler: Record | None = None
        self.lock = threading.RLock()
        self.on_change: Change | None = None

    def _arn(self, kind: str, object_id: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{ACCOUNT}:{kind}/{object_id}"

    def seed(self, quotas: list[dict[str, Any]], scheduler: dict[str, Any] | None) -> None:
        """Start with these allocations and scheduler config (no ``on_change``)."""
        for body in quotas:
            object_id = short_id("compute-quota", self.cluster_name, body["Name"])
            arn = self._arn("compute-quota", object_id)
            self.quotas[object_id] = Record(object_id, arn, body["Name"], dict(body))
        if scheduler is not None:
            object_id = short_id("scheduler", self.cluster_name)
            arn = self._arn("cluster-scheduler-config", object_id)
            name = f"{self.cluster_name}-scheduler-config"[:63]
            self.scheduler = Record(object_id, arn, name, {"SchedulerConfig": scheduler})

    def live_quotas(self) -> list[dict[str, Any]]:
        """The allocations in force, in the API's shape (for the composer)."""
        return [dict(r.body) for r in self.quotas.values() if r.status in LIVE]

    def scheduler_config(self) -> dict[str, Any] | None:
        """The scheduler config in force."""
        return None if self.scheduler is None else dict(self.scheduler.body["SchedulerConfig"])


class SageMakerApi:
    """Dispatch of the operations the applier and the AWS CLI use."""

    def __init__(self, state: GovernanceState, allowed_access_keys: frozenset[str] = frozenset()):
        self.state = state
        self.allowed_access_keys = allowed_access_keys
        self._validator: Any = None
        self._model: Any = None

    def handle(self, operation: str, params: dict[str, Any], access_key: str) -> dict[str, Any]:
        """Run ``operation``; its JSON response.

        Raises:
            ApiError: validation, missing resource, stale version or denied access.
        """
        if self.allowed_access_keys and access_key not in self.allowed_access_keys:
            raise ApiError(
                400,
                "AccessDeniedException",
                f"User: arn:aws:iam::{ACCOUNT}:user/{access_key or 'anonymous'} is not "
                f"authorized to perform: sagemaker:{operation}",
            )
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            raise ApiError(400, "UnknownOperationException", f"{operation} is not supported")
        self._validate(operation, params)
        with self.state.lock:
            result: dict[str, Any] = handler(params, access_key)
        return result

    def _validate(self, operation: str, params: dict[str, Any]) -> None:
        if self._validator is None:
            import botocore.session
            from botocore.validate import ParamValidator

            self._model = botocore.session.get_session().get_service_model("sagemaker")
            self._validator = ParamValidator()
        shape = self._model.operation_model(operation).input_shape
        report = self._validator.validate(params, shape)
        if report.has_errors():
            raise ApiError(400, "ValidationException", report.generate_report())

    def _changed(self) -> None:
        if self.state.on_change is not None:
            self.state.on_change(self.state)

    def _quota(self, quota_id: str) -> Record:
        record = self.state.quotas.get(quota_id)
        if record is None or record.status not in LIVE:
            raise ApiError(400, "ResourceNotFound", f"Compute quota {quota_id} does not exist.")
        return record

    def _op_ListClusters(self, params: dict[str, Any], _: str) -> dict[str, Any]:  # noqa: N802
        name, wanted = self.state.cluster_name, params.get("NameContains", "")
        summary = {
            "ClusterArn": self.state.cluster_arn,
            "ClusterName": name,
            "ClusterStatus": "InService",
            "CreationTime": 0.0,
        }
        return {"ClusterSummaries": [summary] if wanted in name else []}

    def _op_ListComputeQuotas(self, params: dict[str, Any], _: str) -> dict[str, Any]:  # noqa: N802
        arn = params.get("ClusterArn")
        rows = [
            self._quota_fields(
                r,
                {
                    "ComputeQuotaConfig": r.body.get("ComputeQuotaConfig", {}),
                    "ComputeQuotaTarget": r.body["ComputeQuotaTarget"],
                    "ActivationState": r.body.get("ActivationState", "Enabled"),
                },
            )
            for r in sorted(self.state.quotas.values(), key=lambda r: r.name)
            if arn in (None, self.state.cluster_arn) and r.status in LIVE
        ]
        start = int(params.get("NextToken") or 0)
        size = int(params.get("MaxResults", 10))
        page: dict[str, Any] = {"ComputeQuotaSummaries": rows[start : start + size]}
        if start + size < len(rows):
            page["NextToken"] = str(start + size)
        return page

    def _op_DescribeComputeQuota(self, params: dict[str, Any], _: str) -> dict[str, Any]:  # noqa: N802
        r = self._quota(params["ComputeQuotaId"])
        return self._quota_fields(r, {k: v for k, v in r.body.items() if k != "Name"})

    def _quota_fields(self, r: Record, body: dict[str, Any]) -> dict[str, Any]:
        """A compute quota as List and Describe show it: identity, ``body``, then its times."""
        return {
            "ComputeQuotaArn": r.arn,
            "ComputeQuotaId": r.object_id,
            "Name": r.name,
            "ComputeQuotaVersion": r.version,
            "Status": r.status,
            "ClusterArn": self.state.cluster_arn,
            **body,
            "CreationTime": r.created,
            "LastModifiedTime": r.modified,
        }

    def _op_CreateComputeQuota(self, params: dict[str, Any], key: str) -> dict[str, Any]:  # noqa: N802
        if params["ClusterArn"] != self.state.cluster_arn:
            raise ApiError(400, "ResourceNotFound", f"Cluster {params['ClusterArn']} not found.")
        team = params["ComputeQuotaTarget"]["TeamName"]
        for r in self.state.quotas.values():
            if r.status in LIVE and (
                r.name == params["Name"] or r.body["ComputeQuotaTarget"]["TeamName"] == team
            ):
                raise ApiError(
                    400, "ConflictException", f"Compute quota for {r.name} ({team}) exists."
                )
        body = {k: v for k, v in params.items() if k not in ("ClusterArn", "Tags")}
        body.setdefault("ActivationState", "Enabled")
        object_id = short_id("compute-quota", self.state.cluster_name, params["Name"])
        arn = self.state._arn("compute-quota", object_id)
        self.state.quotas[object_id] = Record(object_id, arn, params["Name"], body, created_by=key)
        self._changed()
        return {"ComputeQuotaArn": arn, "ComputeQuotaId": object_id}

    def _update(
        self, r: Record, params: dict[str, Any], members: tuple[str, ...], what: str
    ) -> None:
        """A conditional update: the stale ``TargetVersion`` is a ConflictException."""
        if params["TargetVersion"] != r.version:
            raise ApiError(
                400,
                "ConflictException",
                f"TargetVersion {params['TargetVersion']} does not match the current version "
                f"{r.version} of {what} {r.object_id}.",
            )
        for member in members:
            if member in params:
                r.body[member] = params[member]
        r.version += 1
        r.status, r.modified = "Updated", time.time()
        self._changed()

    def _op_UpdateComputeQuota(self, params: dict[str, Any], _: str) -> dict[str, Any]:  # noqa: N802
        r = self._quota(params["ComputeQuotaId"])
        members = ("ComputeQuotaConfig", "ComputeQuotaTarget", "ActivationState", "Description")
        self._update(r, params, members, "compute quota")
        return {"ComputeQuotaArn": r.arn, "ComputeQuotaVersion": r.version}

    def _op_DeleteComputeQuota(self, params: dict[str, Any], _: str) -> dict[str, Any]:  # noqa: N802
        r = self._quota(params["ComputeQuotaId"])
        r.status, r.modified = "Deleted", time.time()
        self._changed()
        return {}

    def _scheduler(self, config_id: str | None = None) -> Record:
        r = self.state.scheduler
        if r is None or (config_id is not None and config_id != r.object_id):
            raise ApiError(
                400, "ResourceNotFound", f"Cluster scheduler config {config_id} does not exist."
            )
        return r

    def _scheduler_view(self, r: Record) -> dict[str, Any]:
        return {
            "ClusterSchedulerConfigArn": r.arn,
            "ClusterSchedulerConfigId": r.object_id,
            "Name": r.name,
            "ClusterSchedulerConfigVersion": r.version,
            "Status": r.status,
            "ClusterArn": self.state.cluster_arn,
            "CreationTime": r.created,
            "LastModifiedTime": r.modified,
        }

    def _op_ListClusterSchedulerConfigs(self, params: dict[str, Any], _: str) -> dict[str, Any]:  # noqa: N802
        r = self.state.scheduler
        return {"ClusterSchedulerConfigSummaries": [self._scheduler_view(r)] if r else []}

    def _op_DescribeClusterSchedulerConfig(self, params: dict[str, Any], _: str) -> dict[str, Any]:  # noqa: N802
        r = self._scheduler(params["ClusterSchedulerConfigId"])
        return {**self._scheduler_view(r), "SchedulerConfig": r.body["SchedulerConfig"]}

    def _op_UpdateClusterSchedulerConfig(self, params: dict[str, Any], _: str) -> dict[str, Any]:  # noqa: N802
        r = self._scheduler(params["ClusterSchedulerConfigId"])
        self._update(r, params, ("SchedulerConfig",), "cluster scheduler config")
        return {"ClusterSchedulerConfigArn": r.arn, "ClusterSchedulerConfigVersion": r.version}


def caller_identity_xml(access_key: str) -> str:
    """STS ``GetCallerIdentity``'s answer for the signing key (the twin's users are its keys)."""
    user = access_key or "anonymous"
    return (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        "<GetCallerIdentityResult>"
        f"<Arn>arn:aws:iam::{ACCOUNT}:user/{user}</Arn>"
        f"<UserId>{short_id('user', user).upper()}</UserId>"
        f"<Account>{ACCOUNT}</Account>"
        "</GetCallerIdentityResult>"
        "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
        "</ResponseMetadata></GetCallerIdentityResponse>"
    )
