"""The ``lyceum`` command line: every command, and how messages and runs are rendered.

Modules: ``app`` (the click group and the run, graph, expert and schema commands), ``kg``
(``lyceum kg …``), ``classroom`` and ``classroom_run`` (``lyceum classroom``: its options,
and a run with its live transcript and report, which ``lyceum demo`` uses too), ``models``
(``lyceum models build|show``), ``options`` (shared options, console and progress bar),
``render`` (one message as one line) and ``rebuild`` (the graph a replay runs on).
"""

from agents.cli.app import main
from agents.cli.render import render_message

__all__ = ["main", "render_message"]
