"""How much of each Kubernetes resource a ComputeQuotaResource entry stands for.

Whole instances give everything an instance has. Explicit amounts follow the HyperPod
docs (compute allocation, "fine-grained"): what is not given is filled in the ratio of the
instance type, and an entry without Accelerators guarantees no accelerators.
"""

from __future__ import annotations

from decimal import Decimal

from taskgov.catalog import InstanceSpec, instance_catalog
from taskgov.kueue.quantity import CPU, MEMORY, to_amount
from taskgov.policy.model import ComputeQuotaResource

GIB = Decimal(2) ** 30
# Resource amounts keyed by Kubernetes resource name, in Kueue's integer units.
Amounts = dict[str, int]


def instance_amounts(spec: InstanceSpec, instances: Decimal | int = 1) -> Amounts:
    """What ``instances`` whole instances of a type bring."""
    count = Decimal(instances)
    return {
        CPU: to_amount(CPU, count * spec.vcpu),
        MEMORY: to_amount(MEMORY, count * spec.memory_gib * GIB),
        spec.accelerator_resource: to_amount(
            spec.accelerator_resource, count * spec.accelerator_count
        ),
    }


def entry_amounts(entry: ComputeQuotaResource) -> Amounts:
    """The resources one (already checked) entry guarantees, or caps borrowing at."""
    spec = instance_catalog()[entry.instance_type]
    if entry.count is not None:
        return instance_amounts(spec, entry.count)
    if entry.accelerators is not None:
        share = Decimal(entry.accelerators) / spec.accelerator_count
        accelerators = entry.accelerators
    elif entry.vcpu is not None:
        share = Decimal(str(entry.vcpu)) / spec.vcpu
        accelerators = 0
    else:
        share = Decimal(str(entry.memory_gib or 0)) / spec.memory_gib
        accelerators = 0
    vcpu = Decimal(str(entry.vcpu)) if entry.vcpu is not None else share * spec.vcpu
    memory_gib = (
        Decimal(str(entry.memory_gib)) if entry.memory_gib is not None else share * spec.memory_gib
    )
    return {
        CPU: to_amount(CPU, vcpu),
        MEMORY: to_amount(MEMORY, memory_gib * GIB),
        spec.accelerator_resource: accelerators,
    }
