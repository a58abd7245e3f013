"""``python -m agents.cli``: the same as the ``lyceum`` command."""

from agents.cli.app import main

main()
