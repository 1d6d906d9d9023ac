"""``python -m taskgov.cli`` runs the same CLI as the ``taskgov`` script."""

from taskgov.cli.main import main

main()
