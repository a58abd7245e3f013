"""The model-client seam: one abstract async method, optional streaming and scoring.

A client turns a ``ModelRequest`` into a ``ModelResponse`` carrying usage and latency.
Streaming (``stream``) and logprob scoring (``score``) are optional capabilities: a client
that lacks one raises ``NotImplementedError`` naming its class. The vocabulary
(``ModelRequest``, ``ModelResponse``, ``Usage``, ``TextDelta``, ``ModelClient``) is defined
in ``protocols.models`` and re-exported here; this module adds the test-suite guard.
"""

from __future__ import annotations

import os

from protocols import ModelRequestsBlocked
from protocols.models import (
    ChatMessage,
    ModelClient,
    ModelRequest,
    ModelResponse,
    TextDelta,
    Usage,
    call_hash,
)

__all__ = [
    "BLOCK_ENV",
    "ChatMessage",
    "ModelClient",
    "ModelRequest",
    "ModelResponse",
    "TextDelta",
    "Usage",
    "call_hash",
    "check_model_requests_allowed",
]

BLOCK_ENV = "LYCEUM_BLOCK_MODEL_REQUESTS"
"""When this environment variable is ``1``, clients that reach real models refuse to run.
The project's test suite sets it; a test opts in with the ``allow_model_requests`` marker."""


def check_model_requests_allowed(client: str, target: str) -> None:
    """Raise ``ModelRequestsBlocked`` if real model requests are forbidden (in tests)."""
    if os.environ.get(BLOCK_ENV) == "1":
        raise ModelRequestsBlocked(
            f"{client} tried to reach a real model at {target}, but model requests are "
            f"blocked ({BLOCK_ENV}=1, set by the test suite). Use FunctionModel or "
            "ReplayModel, or mark the test with @pytest.mark.allow_model_requests."
        )
