"""The twin: a discrete-event simulator that decides what Kueue decides.

Modelled on Kueue v0.19 (``pkg/scheduler``, ``pkg/scheduler/flavorassigner``,
``pkg/scheduler/preemption``, ``pkg/cache``) with its release-default feature gates. Owns the
simulation, its scenarios (Kueue objects and jobs) and the API server that serves it.

May import: ``taskgov.kueue`` (objects, the manifest reader, quantities), ``taskgov.errors``.
Never ``taskgov.policy`` (a Policy is compiled to Kueue objects before the twin sees it),
``taskgov.store``, ``streams``, ``optimizer`` or ``taskgov.cli``.
"""
