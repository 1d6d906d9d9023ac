"""The CP-SAT model, in the order data → build → solve → read.

Owns: the solver's input as plain frozen numbers (``data``), the variables, constraints and
phased objectives (``build``), solving with explicit time limits and seeds and the
infeasibility explanation (``solve``), and the solution read back as per-team values and a
proposed Policy (``read``).

May import: ``optimizer.demand`` and ``optimizer.settings`` (its inputs), ``optimizer.errors``,
``taskgov.policy`` (today's Policy in, the proposed one out), ``taskgov.catalog``,
``taskgov.errors`` and ``ortools``. Never the twin, the store, ``streams`` or ``taskgov.cli``:
replays and records belong to its callers (``optimizer.recommend``).
"""
