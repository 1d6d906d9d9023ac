"""``taskgov serve``: one read-only HTTP process over the DuckDB record.

It serves the dashboard (static files in ``static/``, every asset shipped here so it works
offline), a JSON API with what the dashboard shows (``api.py``), Prometheus metrics read from
DuckDB at scrape time (``metrics.py``), ``/healthz`` and ``/readyz``, and runs the scheduled
jobs it is configured for (``jobs.py``). It never writes DuckDB: scheduled recommendations run
as their own ``taskgov recommend`` process, which writes through the store.

May import: ``taskgov.store`` (every read), ``streams`` (the starvation episodes and the Kafka
sender it shares with ``taskgov alerts``), ``taskgov.twin`` (the forward run behind ``why``),
``taskgov.times``, ``taskgov.errors``. Never ``taskgov.cli``, ``duckdb`` itself, or
``optimizer``: scheduled recommendations run as their own process.
"""
