"""Packages of the wheel, with the top-level ``sql/`` folder shipped inside it.

``sql/`` stays where the project keeps it (beside ``streams/`` and ``optimizer/``); the wheel
carries it as the data-only package ``taskgov_sql``, which ``taskgov.store.files`` finds when
taskgov runs from an installed wheel rather than a checkout. Everything else is in pyproject.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["taskgov*", "streams*", "optimizer*"]), "taskgov_sql"],
    package_dir={"taskgov_sql": "sql"},
    package_data={
        "taskgov": [
            "data/*.csv",
            "data/*.yaml",
            "data/README.md",
            "data/seed/*.yaml",
            # The traces: gzip CSV (and the plain CSV files) and each data set's README.
            "data/traces/*/*",
            "serve/static/*",
            "serve/static/vendor/*",
        ],
        "taskgov_sql": ["*/*.sql"],
    },
)
