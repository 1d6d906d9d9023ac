"""The policy layer: a HyperPod task-governance policy, its model, loading and checks, and its
compilation to typed Kueue objects (``compile``); rendering them as manifests is a separate
step (``render``).

May import: ``taskgov.kueue``, ``taskgov.catalog``, ``taskgov.yamlsafe`` (policy files),
``taskgov.errors``. Never ``taskgov.twin`` (the twin takes Kueue objects, not policies),
``taskgov.store`` or ``taskgov.cli``.
"""
