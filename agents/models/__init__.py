"""Model clients: one small async interface and its implementations.

The vocabulary (``ModelRequest``, ``ModelResponse``, ``Usage``, ``TextDelta``,
``ModelClient``) lives in ``protocols.models`` and is re-exported here.

- ``OpenAIChatClient``: any OpenAI-compatible server over httpx (vLLM, llama.cpp, Ollama,
  ``transformers serve``), speaking each one's structured-output dialect
  (``agents.models.dialects``).
- ``TransformersClient``: an in-process ``transformers`` model (lazy import; CPU or GPU).
- ``FunctionModel`` and ``ReplayModel``: test doubles.
- ``CachedModel``: a record/replay cache in SQLite.

For tests, ``agents.models.fake_server.FakeOpenAIServer`` is a real loopback
OpenAI-compatible server; it is a test tool, not part of the public API.
"""

from agents.models.base import (
    BLOCK_ENV,
    ChatMessage,
    ModelClient,
    ModelRequest,
    ModelResponse,
    TextDelta,
    Usage,
    check_model_requests_allowed,
)
from agents.models.cache import CachedModel
from agents.models.local import TransformersClient
from agents.models.openai import OpenAIChatClient
from agents.models.testing import FunctionModel, ReplayModel

__all__ = [
    "BLOCK_ENV",
    "CachedModel",
    "ChatMessage",
    "FunctionModel",
    "ModelClient",
    "ModelRequest",
    "ModelResponse",
    "OpenAIChatClient",
    "ReplayModel",
    "TextDelta",
    "TransformersClient",
    "Usage",
    "check_model_requests_allowed",
]
