"""Cluster facts into DuckDB: the watcher (Kueue objects to Kafka), the Faust worker and its
sink (Kafka to DuckDB, through ``taskgov.store``), and the starvation alerts.

May import: ``taskgov.kueue`` (the one manifest reader), ``taskgov.store``, ``taskgov.twin``
(synthetic streams for tests and benches), ``taskgov.broker``, ``taskgov.settings`` (its
defaults), ``taskgov.errors``. Never ``optimizer``, ``taskgov.cli``, or ``duckdb`` itself.
"""
