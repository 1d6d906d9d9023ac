"""The twin: a discrete-event simulator that decides what Kueue decides.

Modelled on Kueue v0.19 (``pkg/scheduler``, ``pkg/scheduler/flavorassigner``,
``pkg/scheduler/preemption``, ``pkg/cache``) with its release-default feature gates.
"""
