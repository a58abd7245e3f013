"""The expert registry: locally served expert models, listed in YAML, routed by skill.

    experts:
      - name: fractions-tutor
        skills: [fraction_addition, fraction_subtraction]
        backend: {kind: openai, base_url: "http://localhost:8000/v1", model: tutor-7b}
      - name: llama-cpp-tutor              # llama.cpp: json_object + schema
        skills: [fraction_addition]
        backend: {kind: openai, base_url: "http://localhost:8080/v1", model: gemma,
                  dialect: json_object}
        generation: {temperature: 0.2, max_tokens: 256}
      - name: algebra-lora                 # a LoRA adapter on a shared vLLM base model
        skills: [one_step_equations]
        backend: {kind: lora, base_url: "http://localhost:8000/v1", adapter: algebra}
      - name: cpu-scorer
        skills: [scoring]
        backend: {kind: transformers, path: /models/gemma-270m}

``lyceum experts list`` shows them; ``lyceum experts check`` probes each endpoint's health
and model list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from agents.models import ModelClient, OpenAIChatClient, TransformersClient
from agents.models.dialects import Dialect
from protocols import ConfigError, UserError
from protocols.config import load_yaml, validate_yaml
from protocols.secrets import Redactor, mask_url, url_secrets

__all__ = ["Expert", "ExpertRegistry", "Health", "load_experts"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Served(_Strict):
    """Settings of a model served over the OpenAI-compatible API.

    ``dialect`` is how structured output is asked for (``OpenAIChatClient(dialect=...)``):
    ``auto`` (discover), ``json_schema`` (OpenAI, vLLM, Ollama), ``json_object``
    (llama.cpp) or ``prompt`` (servers without ``response_format``, e.g. ``transformers
    serve``). ``tokenizer`` is a local tokenizer folder for counting tokens when the server
    reports no usage."""

    base_url: str
    api_key_env: str | None = None
    dialect: Dialect = "auto"
    tokenizer: str | None = None


class OpenAIBackend(_Served):
    kind: Literal["openai"]
    model: str


class LoraBackend(_Served):
    kind: Literal["lora"]
    adapter: str


class TransformersBackend(_Strict):
    kind: Literal["transformers"]
    path: str
    device: str = "auto"


class Generation(_Strict):
    temperature: float = Field(default=0.0, ge=0)
    max_tokens: int = Field(default=256, gt=0)


class Expert(_Strict):
    """One expert: a name, the skills it serves, a backend and generation settings."""

    name: str = Field(min_length=1)
    skills: tuple[str, ...] = Field(min_length=1)
    backend: Annotated[
        OpenAIBackend | LoraBackend | TransformersBackend, Field(discriminator="kind")
    ]
    generation: Generation = Generation()


class _File(_Strict):
    experts: tuple[Expert, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Health:
    """The result of probing one expert."""

    expert: str
    ok: bool
    detail: str


class ExpertRegistry:
    """Experts by name, with routing by skill overlap."""

    def __init__(self, experts: Sequence[Expert]) -> None:
        names = [e.name for e in experts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise UserError(f"expert names must be unique; repeated: {', '.join(dupes)}")
        self.experts = list(experts)

    def get(self, name: str) -> Expert:
        for expert in self.experts:
            if expert.name == name:
                return expert
        raise UserError(f"no expert {name!r}; experts: {', '.join(e.name for e in self.experts)}")

    def route(self, skills: Sequence[str]) -> Expert:
        """The expert whose skills overlap most with ``skills`` (Jaccard; first wins ties)."""
        wanted = set(skills)

        def score(expert: Expert) -> float:
            have = set(expert.skills)
            return len(have & wanted) / len(have | wanted) if wanted else 0.0

        best = max(self.experts, key=score)
        if score(best) == 0:
            raise UserError(
                f"no expert serves any of {sorted(wanted)}; skills served: "
                f"{sorted({s for e in self.experts for s in e.skills})}"
            )
        return best

    def client(
        self,
        expert: Expert | str,
        *,
        http_client: httpx.AsyncClient | None = None,
        api_keys: dict[str, str] | None = None,
    ) -> ModelClient:
        """A model client for the expert (LoRA adapters are served as model names)."""
        expert = self.get(expert) if isinstance(expert, str) else expert
        backend = expert.backend
        if isinstance(backend, TransformersBackend):
            return TransformersClient(backend.path, device=backend.device, model=expert.name)
        key = (api_keys or {}).get(backend.api_key_env or "") if backend.api_key_env else None
        model = backend.model if isinstance(backend, OpenAIBackend) else backend.adapter
        try:
            return OpenAIChatClient(
                backend.base_url,
                model,
                api_key=key,
                http_client=http_client,
                dialect=backend.dialect,
                tokenizer=backend.tokenizer,
            )
        except UserError as exc:
            source = f"${backend.api_key_env}" if backend.api_key_env else "base_url"
            raise UserError(f"expert {expert.name!r} (key from {source}): {exc}") from None

    async def check(self, *, timeout: float = 5.0) -> list[Health]:
        """Probe every expert: ``GET /models`` for served ones, the folder for local ones."""
        results = []
        async with httpx.AsyncClient(timeout=timeout) as http:
            for expert in self.experts:
                results.append(await _probe(expert, http))
        return results


async def _probe(expert: Expert, http: httpx.AsyncClient) -> Health:
    backend = expert.backend
    if isinstance(backend, TransformersBackend):
        config = Path(backend.path) / "config.json"
        ok = config.is_file()
        return Health(expert.name, ok, f"{config} {'found' if ok else 'missing'}")
    wanted = backend.model if isinstance(backend, OpenAIBackend) else backend.adapter
    url = mask_url(backend.base_url.rstrip("/") + "/models")  # as shown: credentials masked
    redact = Redactor(url_secrets(backend.base_url))
    try:
        base = httpx.URL(backend.base_url)
        response = await http.get(base.copy_with(path=base.path.rstrip("/") + "/models"))
        response.raise_for_status()
        served = [m.get("id") for m in response.json().get("data", [])]
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, AttributeError) as exc:
        return Health(expert.name, False, redact(f"{url}: {type(exc).__name__}: {exc}"))
    if wanted not in served:
        return Health(
            expert.name,
            False,
            f"{url} is up but does not serve {wanted!r} "
            f"(it serves: {', '.join(map(str, served)) or 'nothing'})",
        )
    return Health(expert.name, True, f"{url} serves {wanted!r}")


def load_experts(path: str | Path) -> ExpertRegistry:
    """Load an experts YAML file; errors name the file, line and field."""
    data, lines = load_yaml(path)
    spec = validate_yaml(path, _File, data, lines)
    try:
        return ExpertRegistry(spec.experts)
    except UserError as exc:
        raise ConfigError(
            str(exc), path=str(path), line=lines.line(("experts",)), field="experts"
        ) from None
