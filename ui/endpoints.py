"""Testing a model endpoint from the Models page (``ui/views/models.py``), free of Streamlit.

Two checks, in order: the expert registry's health check (``GET /models`` answers and
lists the model; ``agents.meta.ExpertRegistry.check``), then one short chat completion
through ``agents.models.OpenAIChatClient`` (no retries, so an unreachable server fails at
once). The key comes from the environment variable the endpoint names, never from the page.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agents.classroom import ModelEndpoint
from agents.meta import Expert, ExpertRegistry
from agents.models import ChatMessage, ModelRequest, OpenAIChatClient
from protocols import UserError

__all__ = ["PROBE", "Connection", "check_endpoint"]

PROBE = "Reply with one word: ok."
"""The completion the connection test asks for."""


@dataclass(frozen=True)
class Connection:
    """The outcome of a connection test that reached the server.

    Attributes:
        listed: Whether ``GET /models`` lists the model.
        detail: The health check's account (the URL shown with credentials masked).
        reply: The model's reply to ``PROBE``.
        latency_ms: How long the completion took.
    """

    listed: bool
    detail: str
    reply: str
    latency_ms: float


async def _test(endpoint: ModelEndpoint, timeout: float) -> Connection:
    key = endpoint.api_key()
    expert = Expert.model_validate(
        {
            "name": "app",
            "skills": ["chat"],
            "backend": {
                "kind": "openai",
                "base_url": endpoint.base_url,
                "model": endpoint.model,
                "api_key_env": endpoint.api_key_env,
            },
        }
    )
    health = (await ExpertRegistry([expert]).check(timeout=timeout))[0]
    if not health.ok and "does not serve" not in health.detail:
        raise UserError(
            f"cannot reach the endpoint: {health.detail}. Is the server running? "
            "Check the URL (it ends in /v1) and the port."
        )
    client = OpenAIChatClient(
        endpoint.base_url, endpoint.model, api_key=key, timeout=timeout, max_retries=0
    )
    try:
        request = ModelRequest(messages=(ChatMessage(role="user", content=PROBE),), max_tokens=8)
        response = await client.complete(request)
    finally:
        await client.aclose()
    return Connection(health.ok, health.detail, response.text, response.latency_ms)


def check_endpoint(endpoint: ModelEndpoint, *, timeout: float = 10.0) -> Connection:
    """Check that ``endpoint`` answers: its model list, then one short completion.

    Raises:
        UserError: The server cannot be reached, or the key's variable is not set.
        ModelHTTPError: The completion failed (the message says how, and the fix).
    """
    return asyncio.run(_test(endpoint, timeout))
