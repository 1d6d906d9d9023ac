"""The ``taskgov`` command: a thin click layer that parses, calls one library function, prints.

May import every other package; nothing imports it.
"""
