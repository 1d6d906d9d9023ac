"""Applying a stored recommendation to the live governance APIs, safely.

Owns: reading the live policy (SageMaker compute quotas and scheduler config, or Kueue
ClusterQueues), the difference to a target policy, the guardrails every change must pass, the
calls that make the change with optimistic concurrency, and the audit record of each attempt.
May import: ``taskgov.policy`` (the API shapes and the Kueue compilation), ``taskgov.kueue``,
``taskgov.store`` (the audit tables), ``optimizer.store`` (stored runs), ``optimizer.settings``,
``taskgov.catalog``, ``taskgov.errors``. Never ``taskgov.cli`` or ``streams``.
``sagemaker.py`` and ``kueue.py`` hold the only code that writes to external systems.
"""
