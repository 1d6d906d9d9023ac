"""The Kueue layer: Kueue's typed objects (``objects``), quantities (``quantity``), the one
reader of Kueue manifests used by the watcher and the twin alike (``read``), writing objects
back as manifest fields (``render``), HyperPod's names for what it creates (``hyperpod``),
and Kueue's field rules (``schemas``): the schemas the twin serves, compiled into the checks
the readers run and the rules across fields of Kueue's webhooks, encoded once.

May import: ``taskgov.errors`` only. Never the twin, the policy layer, the store or the CLI.
"""
