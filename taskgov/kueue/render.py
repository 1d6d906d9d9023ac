"""Typed Kueue objects written back as the fields of their manifests."""

from __future__ import annotations

from typing import Any

from taskgov.kueue.objects import ResourceGroup
from taskgov.kueue.quantity import format_amount


def resource_groups_manifest(groups: tuple[ResourceGroup, ...]) -> list[dict[str, Any]]:
    """``spec.resourceGroups`` of a ClusterQueue or Cohort: quantities in canonical form, and a
    limit only where one is set (an absent limit is unlimited)."""
    rendered = []
    for group in groups:
        flavors = []
        for flavor in group.flavors:
            resources = []
            for resource, quota in flavor.resources.items():
                line = {"name": resource, "nominalQuota": format_amount(resource, quota.nominal)}
                for key, limit in (
                    ("borrowingLimit", quota.borrowing_limit),
                    ("lendingLimit", quota.lending_limit),
                ):
                    if limit is not None:
                        line[key] = format_amount(resource, limit)
                resources.append(line)
            flavors.append({"name": flavor.name, "resources": resources})
        rendered.append({"coveredResources": list(group.covered_resources), "flavors": flavors})
    return rendered
