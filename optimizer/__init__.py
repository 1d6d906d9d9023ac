"""Quota recommendations: recorded demand in, CP-SAT out, proven on the twin.

Pipeline: ``demand`` (history → demand profile) → ``model/`` (``data → build → solve → read``)
→ ``replay`` (the twin under current and proposed quotas) → ``plan`` (what to change and the
calls that change it). ``recommend`` runs the whole pipeline; ``history`` and ``store`` read
and write DuckDB through ``taskgov.store``; ``appliers/`` hold the only code that changes
external systems.

May import: ``taskgov.store``, ``taskgov.policy``, ``taskgov.twin``, ``taskgov.kueue``,
``taskgov.catalog``, ``taskgov.yamlsafe`` (the settings file), ``taskgov.errors``. Never
``streams``, ``taskgov.cli``, or ``duckdb`` itself.
"""
