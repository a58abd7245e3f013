"""Model clients: one small async interface and its implementations.

The vocabulary (``ModelRequest``, ``ModelResponse``, ``Usage``, ``TextDelta``,
``ModelClient``) lives in ``protocols.models`` and is re-exported here.

- ``OpenAIChatClient``: any OpenAI-compatible server over httpx (vLLM, llama.cpp, Ollama).
- ``TransformersClient``: an in-process ``transformers`` model (lazy import; CPU or GPU).
- ``FunctionModel`` and ``ReplayModel``: test doubles.
- ``CachedModel``: a record/replay cache in SQLite.
- ``FakeOpenAIServer``: a real loopback OpenAI-compatible server for tests.
"""

from agents.models.base import (
    BLOCK_ENV,
    ChatMessage,
    ModelClient,
    ModelRequest,
    ModelResponse,
    TextDelta,
    Usage,
    call_hash,
    check_model_requests_allowed,
)
from agents.models.cache import CachedModel
from agents.models.fake_server import FakeOpenAIServer, ReceivedRequest, Scripted
from agents.models.local import TransformersClient
from agents.models.openai import OpenAIChatClient
from agents.models.structured import parse_structured
from agents.models.testing import FunctionModel, ReplayModel

__all__ = [
    "BLOCK_ENV",
    "CachedModel",
    "ChatMessage",
    "FakeOpenAIServer",
    "FunctionModel",
    "ModelClient",
    "ModelRequest",
    "ModelResponse",
    "OpenAIChatClient",
    "ReceivedRequest",
    "ReplayModel",
    "Scripted",
    "TextDelta",
    "TransformersClient",
    "Usage",
    "call_hash",
    "check_model_requests_allowed",
    "parse_structured",
]
