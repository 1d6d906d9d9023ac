"""Scenario files: Kueue objects, Jobs and Workloads, and optionally a HyperPod Policy.

Sits above both layers it joins: the policy layer compiles a file's Policy into Kueue
objects, then the twin reads the file's Kueue objects (the twin never reads a Policy).
"""

from __future__ import annotations

from collections.abc import Sequence

from taskgov.policy.documents import compile_policy_documents
from taskgov.policy.load import Document, read_documents
from taskgov.twin.scenario import Scenario, build_scenario


def scenario_from_documents(documents: Sequence[Document]) -> Scenario:
    """The twin's scenario of a file's documents (a Policy's ``FairShare`` turns on fair
    sharing unless a Scenario document says otherwise).

    Raises:
        InputError: naming the document, object and field of every fault.
    """
    kueue_documents, fair_sharing = compile_policy_documents(documents)
    return build_scenario(kueue_documents, fair_sharing=fair_sharing)


def load_scenario(text: str, source: str) -> Scenario:
    """The scenario in the YAML ``text`` read from ``source``.

    Raises:
        InputError: the text is not YAML, or a document is at fault.
    """
    return scenario_from_documents(read_documents(text, source))
