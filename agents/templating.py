"""Report templates (Jinja, ``StrictUndefined``): a missing variable is an error, never a
blank; HTML templates (``*.html.jinja``) escape every value unless marked safe. Shared by the
sweep report (``agents.eval``) and the classroom report (``agents.classroom``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["render_template"]


def render_template(folder: Path, name: str, **context: Any) -> str:
    """Render the template ``name`` of ``folder`` with ``context``."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(folder),
        undefined=StrictUndefined,
        autoescape=name.endswith(".html.jinja"),
        keep_trailing_newline=True,
    )
    return env.get_template(name).render(**context)
