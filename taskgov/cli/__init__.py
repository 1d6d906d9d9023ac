"""The ``taskgov`` command: a thin click layer that parses, calls one library function, prints.

Owns: the entry point and its lazily imported subcommands (``main``), the options several
subcommands share, each declared once (``options``: ``--db`` and its default, ``--state-dir``,
``--topic-prefix``, ``-o``, spans in seconds, durations, ``--max-outage``), and printing data
as table, json, yaml or csv (``output``).

May import every other package (``taskgov.*``, ``streams``, ``optimizer``); no library code
imports it (only ``bench/``, which drives the commands as a user would).
"""
