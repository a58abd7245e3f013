"""What the spans share: the conventions' version, provider names, error marking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry.trace import Span, Status, StatusCode

from agents.models.base import ModelClient
from agents.models.cache import CachedModel
from protocols import Envelope, Message

if TYPE_CHECKING:
    from agents.agent import RunContext

__all__ = [
    "SCHEMA_URL",
    "SEMCONV_VERSION",
    "Handle",
    "failed",
    "lyceum_version",
    "provider_name",
    "server_attributes",
]

SEMCONV_VERSION = "1.41.0"
"""The version of the OpenTelemetry semantic conventions the spans follow."""

SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"

# The provider names the conventions define for the clients lyceum ships; other clients
# are named by their class (a custom value, as the conventions allow).
_PROVIDERS = {
    "OpenAIChatClient": "openai",
    "TransformersClient": "transformers",
    "FunctionModel": "lyceum.function",
    "ReplayModel": "lyceum.replay",
}

Handle = Callable[[Message, "RunContext"], Awaitable[Sequence[Envelope]]]


def lyceum_version() -> str:
    """The installed lyceum's version: the tracer's instrumentation version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lyceum")
    except PackageNotFoundError:  # pragma: no cover - a source tree that is not installed
        return "0"


def failed(span: Span, error: BaseException) -> None:
    """Mark ``span`` as failed with ``error``'s class (``error.type``) and record it."""
    name = type(error).__qualname__
    span.set_attribute("error.type", name)
    span.set_status(Status(StatusCode.ERROR, f"{name}: {error}"))
    span.record_exception(error)


def provider_name(client: ModelClient) -> str:
    """``gen_ai.provider.name`` for ``client`` (a cache is named by the client it wraps)."""
    while isinstance(client, CachedModel):
        client = client.inner
    name = type(client).__name__
    return _PROVIDERS.get(name, name)


def server_attributes(client: ModelClient) -> dict[str, Any]:
    """``server.address`` and ``server.port`` of a client that has a ``base_url``."""
    while isinstance(client, CachedModel):
        client = client.inner
    url = getattr(client, "base_url", None)
    if not isinstance(url, str):
        return {}
    parts = urlsplit(url)
    out: dict[str, Any] = {}
    if parts.hostname:
        out["server.address"] = parts.hostname
        out["server.port"] = parts.port or (443 if parts.scheme == "https" else 80)
    return out
