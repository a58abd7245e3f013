"""The expert registry: locally served expert models, listed in YAML, routed by skill.

The file's format (``experts:``, each expert's ``backend`` or ``serve``, the top-level
``serve:`` block) is defined in ``agents.meta.expert_spec``; ``agents.meta.expert_file``
loads and checks it. ``lyceum experts list`` shows the experts; ``lyceum experts check``
probes each endpoint's health and model list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from agents.meta.expert_file import load_experts_file
from agents.meta.expert_spec import Expert, ExpertServe, ExpertsFile, ServeSettings

# The schema's other names, importable from here as before the split (``X as X``: re-exported).
from agents.meta.expert_spec import Generation as Generation
from agents.meta.expert_spec import LoraBackend as LoraBackend
from agents.meta.expert_spec import OpenAIBackend as OpenAIBackend
from agents.meta.expert_spec import TransformersBackend as TransformersBackend
from agents.meta.expert_spec import host_problem as host_problem
from agents.models import ModelClient, OpenAIChatClient, TransformersClient
from protocols import UserError
from protocols.secrets import Redactor, mask_url, url_secrets

__all__ = [
    "Expert",
    "ExpertRegistry",
    "ExpertServe",
    "ExpertsFile",
    "Health",
    "ServeSettings",
    "load_experts",
    "load_experts_file",
]


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
        if backend is None:
            raise UserError(_not_served(expert))
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


def _not_served(expert: Expert) -> str:
    return (
        f"expert {expert.name!r} has no backend yet: `lyceum serve --experts FILE` serves it "
        "and writes FILE's served registry (experts.served.yaml) with its endpoint; use that"
    )


async def _probe(expert: Expert, http: httpx.AsyncClient) -> Health:
    backend = expert.backend
    if backend is None:
        return Health(expert.name, False, _not_served(expert))
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
    except httpx.ConnectError as exc:
        return Health(
            expert.name,
            False,
            f"nothing answers at {url} ({type(exc).__name__}): its server is down; start it "
            "(a served registry's servers: `lyceum serve --experts FILE` again), or fix base_url",
        )
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
    return ExpertRegistry(load_experts_file(path)[0].experts)
