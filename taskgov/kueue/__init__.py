"""The Kueue layer: Kueue's typed objects (``objects``), quantities (``quantity``), the one
reader of Kueue manifests used by the watcher and the twin alike (``read``), writing objects
back as manifest fields (``render``) and HyperPod's names for what it creates (``hyperpod``).

May import: ``taskgov.errors`` only. Never the twin, the policy layer, the store or the CLI.
"""
