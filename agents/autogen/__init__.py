"""AutoGen interop: Microsoft's ``autogen-agentchat`` / ``autogen-core`` 0.7 (not AG2, the
PyPI package named ``autogen``). An integration, not lyceum's core: nothing in the core
imports it, and importing ``agents`` does not import AutoGen.

- ``AutoGenModelClient``: any AutoGen ``ChatCompletionClient`` as a lyceum model client.
- ``PersonaChatAgent``: a lyceum persona as an AgentChat agent, for
  ``RoundRobinGroupChat`` and ``SelectorGroupChat``.

See docs/autogen.md. Needs ``pip install 'lyceum[autogen]'``.
"""

from agents.autogen import _deps

_deps.require_autogen()

from agents.autogen.agent import PersonaChatAgent, PersonaTurnError  # noqa: E402
from agents.autogen.client import AutoGenModelClient, to_autogen_messages  # noqa: E402
from agents.autogen.messages import (  # noqa: E402
    LyceumContent,
    TextAs,
    from_autogen,
    observed,
    to_autogen,
)
from agents.autogen.state import PersonaChatAgentState  # noqa: E402

__all__ = [
    "AutoGenModelClient",
    "LyceumContent",
    "PersonaChatAgent",
    "PersonaChatAgentState",
    "PersonaTurnError",
    "TextAs",
    "from_autogen",
    "observed",
    "to_autogen",
    "to_autogen_messages",
]
