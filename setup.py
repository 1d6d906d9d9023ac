"""Packages of the wheel, with the top-level ``sql/`` folder shipped inside it.

``sql/`` stays where the project keeps it (beside ``streams/`` and ``optimizer/``); the wheel
carries it as the data-only package ``taskgov_sql``, which ``taskgov.store.files`` finds when
taskgov runs from an installed wheel rather than a checkout. The package data (the ``.sql``
files and taskgov's data) and everything else are in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["taskgov*", "streams*", "optimizer*"]), "taskgov_sql"],
    package_dir={"taskgov_sql": "sql"},
)
