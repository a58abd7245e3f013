"""The one place that checks AutoGen is installed, so the error names the extra."""

from __future__ import annotations

import importlib.util

__all__ = ["require_autogen"]

PACKAGES = ("autogen_core", "autogen_agentchat", "autogen_ext")


def require_autogen() -> None:
    """Raise ``ImportError`` naming the pip extra when Microsoft's AutoGen 0.7 is missing.

    The PyPI package literally named ``autogen`` is AG2, a different project with another
    API; lyceum targets Microsoft's ``autogen-agentchat`` and ``autogen-core``.
    """
    missing = [name for name in PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"agents.autogen needs Microsoft's AutoGen 0.7 ({', '.join(missing)} not found). "
            "Install it with: pip install 'lyceum[autogen]' (autogen-agentchat and "
            "autogen-ext[openai]; not the PyPI package named 'autogen', which is AG2)."
        )
