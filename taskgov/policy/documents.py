"""A scenario file's Policy and Cluster documents, compiled into the Kueue objects they stand
for, so the twin (which reads Kueue objects only) can play the file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from taskgov.policy.compile import compile_policy
from taskgov.policy.load import API_VERSION, Document, policy_and_cluster

# The twin leaves documents whose source ends so out of its own fault locations.
COMPILED_SUFFIX = "compiled"


def compile_policy_documents(documents: Sequence[Document]) -> tuple[list[Document], bool]:
    """``documents`` with a Policy and Cluster pair replaced by the Kueue objects they compile
    to, and whether the policy turns on fair sharing (``FairShare: Enabled``, the API's
    default). Documents without a policy come back as they are, with fair sharing off.

    Raises:
        InputError: the Policy or Cluster is invalid, or the policy does not fit the cluster.
    """
    policy_docs = [
        d
        for d in documents
        if d.kind in ("Policy", "Cluster")
        and isinstance(d.body, Mapping)
        and d.body.get("apiVersion") == API_VERSION
    ]
    if not policy_docs:
        return list(documents), False
    policy, label, cluster = policy_and_cluster(policy_docs)
    objects = compile_policy(policy, cluster, label)
    index = next(doc.index for doc in policy_docs if doc.kind == "Policy")
    source = f"{policy_docs[0].source}#{index} {COMPILED_SUFFIX}"
    compiled = [Document(source, n, obj) for n, obj in enumerate(objects)]
    return compiled + [d for d in documents if d not in policy_docs], (
        policy.scheduler_config.fair_share == "Enabled"
    )
