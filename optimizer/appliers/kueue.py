"""The plain-Kueue applier: each team's ClusterQueue, patched with a resourceVersion precondition.

A JSON merge patch that carries ``metadata.resourceVersion`` makes the API server refuse it with
``409 Conflict`` when anyone changed the ClusterQueue since it was read, so a concurrent edit is
never silently overwritten. Only the fields the policy governs are patched: ``resourceGroups``
and ``fairSharing``. The live quotas are read back through the compilation's inverse.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from optimizer.appliers import base
from optimizer.appliers.quotas import NO_QUOTA, TeamQuota, quota_of
from taskgov.catalog import instance_catalog
from taskgov.kueue.quantity import parse_quantity
from taskgov.policy.compile import CompileOptions, cluster_queue_name, compile_policy
from taskgov.policy.model import Cluster, InstanceGroup, Policy

GROUP = "kueue.x-k8s.io"
GOVERNED = ("resourceGroups", "fairSharing")
UNLIMITED_PCT = 10_000


def team_of(cluster_queue: str) -> str | None:
    """The team a HyperPod ClusterQueue belongs to (``hyperpod-ns-<team>-clusterqueue``)."""
    prefix, suffix = cluster_queue_name("@").split("@")
    if cluster_queue.startswith(prefix) and cluster_queue.endswith(suffix):
        return cluster_queue[len(prefix) : len(cluster_queue) - len(suffix)]
    return None


def decompile(spec: dict[str, Any]) -> TeamQuota:
    """A ClusterQueue's spec in the guardrails' numbers: whole instances per type, the
    BorrowLimit percent that compiles to its borrowingLimit, the FairShareWeight."""
    catalog = instance_catalog()
    nominal: dict[str, int] = {}
    borrow_pcts: list[int] = []
    for group in spec.get("resourceGroups") or []:
        for flavor in group.get("flavors") or []:
            info = catalog.get(flavor.get("name", ""))
            if info is None:
                continue
            for resource in flavor.get("resources") or []:
                if resource.get("name") != info.accelerator_resource:
                    continue
                amount = parse_quantity(str(resource.get("nominalQuota", "0")))
                nominal[flavor["name"]] = int(amount) // info.accelerator_count
                limit = resource.get("borrowingLimit")
                if limit is None:
                    borrow_pcts.append(UNLIMITED_PCT)
                elif amount > 0:
                    borrow_pcts.append(math.ceil(int(parse_quantity(str(limit))) * 100 / amount))
    weight_text = (spec.get("fairSharing") or {}).get("weight")
    weight = max(0, int(float(parse_quantity(str(weight_text)))) - 1) if weight_text else 0
    return TeamQuota(
        nominal={t: n for t, n in nominal.items() if n},
        borrow_limit_pct=max(borrow_pcts, default=0),
        fair_share_weight=weight,
    )


class KueueApplier:
    """Team ClusterQueues of a Kueue cluster, through the official Kubernetes client."""

    backend = base.Backend.KUEUE

    def __init__(
        self, kubeconfig: Path | None, context: str | None, api_version: str = "v1beta2"
    ) -> None:
        from kubernetes import client, config

        try:
            api_client = config.new_client_from_config(
                config_file=str(kubeconfig) if kubeconfig else None, context=context
            )
            contexts, active = config.list_kube_config_contexts(
                config_file=str(kubeconfig) if kubeconfig else None
            )
        except (config.ConfigException, OSError) as error:
            raise base.ApplyError(f"cannot load the kubeconfig: {error}") from None
        chosen = next((c for c in contexts if c["name"] == context), active) if context else active
        self._user = str((chosen or {}).get("context", {}).get("user", "unknown"))
        self._api = client.CustomObjectsApi(api_client)
        self._rest = client.exceptions
        self.endpoint = str(api_client.configuration.host)
        self.api_version = api_version

    def caller(self) -> str:
        """The kubeconfig user the patches are made as."""
        return f"kubernetes:{self._user}"

    def _call(self, what: str, function: Any, **params: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = function(**params)
        except self._rest.ApiException as error:
            text = f"{what} at {self.endpoint}: {error.status} {error.reason}: {_message(error)}"
            if error.status == 409:
                raise base.ConflictError(text) from None
            raise base.ApplyError(text) from None
        except Exception as error:  # noqa: BLE001 - urllib3's connection errors, named
            raise base.ApplyError(
                f"cannot reach the Kubernetes API at {self.endpoint}: {error}"
            ) from None
        return result

    def read_live(self) -> base.LiveState:
        """Every team ClusterQueue (``hyperpod-ns-<team>-clusterqueue``) with its version."""
        listed = self._call(
            "list clusterqueues",
            self._api.list_cluster_custom_object,
            group=GROUP,
            version=self.api_version,
            plural="clusterqueues",
        )
        objects: dict[str, base.LiveObject] = {}
        for item in listed.get("items", []):
            name = item["metadata"]["name"]
            team = team_of(name)
            if team is None:
                continue
            body = {"spec": {k: item["spec"][k] for k in GOVERNED if k in item.get("spec", {})}}
            version = str(item["metadata"].get("resourceVersion", ""))
            objects[team] = base.LiveObject(name, name, version, body)
        quotas = {team: decompile(o.body["spec"]) for team, o in objects.items()}
        return base.LiveState(objects=objects, quotas=quotas)

    def desired(self, policy: Policy, team: str) -> base.Desired:
        """``team``'s ClusterQueue spec as the policy compiles (only the governed fields)."""
        quota = quota_of(policy, team)
        if quota is None:
            raise base.ApplyError(f"the plan has no allocation for team {team!r}")
        counts: dict[str, int] = {}
        for q in policy.compute_quotas:
            for r in q.compute_quota_config.compute_quota_resources:
                counts[r.instance_type] = counts.get(r.instance_type, 0) + (r.count or 0)
        groups = [InstanceGroup(instance_type=t, instance_count=n) for t, n in counts.items()]
        alone = Policy(
            name=policy.name, scheduler_config=policy.scheduler_config, compute_quotas=[quota]
        )
        cluster = Cluster(name="live", instance_groups=groups or [])
        objects = compile_policy(alone, cluster, "plan", CompileOptions(api_version="v1beta2"))
        spec = next(o["spec"] for o in objects if o["kind"] == "ClusterQueue")
        body = {"spec": {k: spec[k] for k in GOVERNED if k in spec}}
        return base.Desired(team, body, decompile(body["spec"]))

    def restore(self, team: str, body: dict[str, Any] | None) -> base.Desired:
        """A recorded ClusterQueue spec (a queue we created is not removed: none is)."""
        if body is None:
            return base.Desired(team, {"spec": {"resourceGroups": []}}, NO_QUOTA)
        return base.Desired(team, dict(body), decompile(body.get("spec", {})))

    def call_for(self, live: base.LiveState, desired: base.Desired) -> base.Call | None:
        """A merge patch of the governed fields with the resourceVersion read."""
        existing = live.objects.get(desired.team)
        if existing is None:
            name = cluster_queue_name(desired.team)
            raise base.ApplyError(
                f"ClusterQueue {name} does not exist at {self.endpoint}: is this the cluster the "
                "recommendation was made for? (create queues with `taskgov policy compile`)"
            )
        spec = {**existing.body["spec"], **desired.body["spec"]}
        if "fairSharing" not in desired.body["spec"] and "fairSharing" in existing.body["spec"]:
            spec["fairSharing"] = None
        after = {"spec": {k: v for k, v in spec.items() if v is not None}}
        if after == existing.body:
            return None
        patch = {"metadata": {"resourceVersion": existing.version}, "spec": spec}
        return base.Call(
            desired.team,
            "ClusterQueue",
            existing.name,
            "PATCH (merge)",
            patch,
            existing.body,
            after,
        )

    def make(self, call: base.Call) -> dict[str, Any]:
        """Send the merge patch."""
        result = self._call(
            f"patch clusterqueue {call.name}",
            self._api.patch_cluster_custom_object,
            group=GROUP,
            version=self.api_version,
            plural="clusterqueues",
            name=call.name,
            body=call.request,
            _content_type="application/merge-patch+json",
        )
        return {"metadata": {"resourceVersion": result.get("metadata", {}).get("resourceVersion")}}


def _message(error: Any) -> str:
    import json

    try:
        return str(json.loads(error.body).get("message", error.body))
    except (TypeError, ValueError):
        return str(error.body)
