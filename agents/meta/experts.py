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

**Serving** (``lyceum serve --experts experts.yaml``, docs/serving.md): the same file can say
what to serve. A top-level ``serve:`` block holds the server settings, and an expert with a
``serve:`` entry names the local model folder (``model``) or LoRA adapter folder
(``adapter``) to serve for it; such an expert needs no ``backend``, since ``lyceum serve``
writes it (into ``experts.served.yaml``, next to the file) once the server is up. Relative
folders are read from the file's own folder.

    serve:
      backend: auto            # auto | vllm | transformers
      host: 127.0.0.1
      port: 8000
      base: models/base        # vLLM: the base model the adapters were trained on
      chat_template: chat.jinja  # for a model folder that has none (optional)
      continuous_batching: true  # transformers serve: batch requests (default: on a GPU)
      args: [--max-model-len, "4096"]  # more server options, passed as they are
    experts:
      - name: algebra-lora
        skills: [one_step_equations]
        serve: {adapter: adapters/algebra}
      - name: fractions-tutor
        skills: [fraction_addition]
        serve: {model: models/fractions}
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.models import ModelClient, OpenAIChatClient, TransformersClient
from agents.models.dialects import Dialect
from protocols import ConfigError, UserError
from protocols.config import LineMap, load_yaml, validate_yaml
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


class ExpertServe(_Strict):
    """What ``lyceum serve`` serves for an expert: a model folder or a LoRA adapter folder
    (exactly one; relative to the experts file's folder)."""

    model: str | None = Field(default=None, min_length=1)
    adapter: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one(self) -> ExpertServe:
        if (self.model is None) == (self.adapter is None):
            raise ValueError(
                "give exactly one of 'model' (a model folder) or 'adapter' (a LoRA folder)"
            )
        return self


class ServeSettings(_Strict):
    """The top-level ``serve:`` block: how ``lyceum serve`` runs the server(s).

    Attributes:
        backend: ``vllm`` (one base model with a LoRA adapter per expert, on a CUDA GPU),
            ``transformers`` (``transformers serve``, CPU or GPU) or ``auto`` (vLLM when it is
            installed and a CUDA GPU is present, else transformers).
        host: The interface to listen on.
        port: The server's port (transformers serve: the first of one port per model).
        base: The base model folder the adapters were trained on (vLLM).
        chat_template: A Jinja chat template file for model folders that have none.
        continuous_batching: transformers serve: batch concurrent requests (paged attention);
            unset: on where a CUDA GPU is present (on CPU its paged cache makes it slower).
        args: More server options, passed as they are.
    """

    backend: Literal["auto", "vllm", "transformers"] = "auto"
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8000, ge=1, le=65535)
    base: str | None = Field(default=None, min_length=1)
    chat_template: str | None = Field(default=None, min_length=1)
    continuous_batching: bool | None = None
    args: tuple[str, ...] = ()

    @field_validator("host")
    @classmethod
    def _plain_host(cls, host: str) -> str:
        problem = host_problem(host)
        if problem:
            raise ValueError(problem)
        return host


def host_problem(host: str) -> str | None:
    """Why ``host`` is not an interface a server can listen on (a URL, ``host:port``), or
    None."""
    if "/" in host or host.count(":") == 1:
        return (
            "not a host name or address; give the host alone (127.0.0.1, "
            "0.0.0.0, ::1), with no scheme, path or port (the port is serve.port)"
        )
    return None


class Expert(_Strict):
    """One expert: a name, the skills it serves, a backend and generation settings.

    An expert that ``lyceum serve`` serves names what to serve (``serve``) and may leave
    ``backend`` out: the served registry fills it in."""

    name: str = Field(min_length=1)
    skills: tuple[str, ...] = Field(min_length=1)
    backend: (
        Annotated[OpenAIBackend | LoraBackend | TransformersBackend, Field(discriminator="kind")]
        | None
    ) = None
    generation: Generation = Generation()
    serve: ExpertServe | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Expert:
        if (self.backend is None) == (self.serve is None):
            raise ValueError(
                "give a 'backend' (where the model is served) or 'serve' (what `lyceum serve` "
                "serves for it), not both: `lyceum serve` writes the backend of what it serves"
                if self.serve
                else "give a 'backend' (where the model is served) or 'serve' (what `lyceum "
                "serve` serves for it)"
            )
        return self


class ExpertsFile(_Strict):
    """An experts YAML file: the experts, and optionally what ``lyceum serve`` serves."""

    experts: tuple[Expert, ...] = Field(min_length=1)
    serve: ServeSettings | None = None


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


def load_experts_file(path: str | Path) -> tuple[ExpertsFile, LineMap]:
    """Load and validate an experts YAML file, with the line of every value (for errors
    found later, such as a missing model folder). Errors name the file, line and field."""
    data, lines = load_yaml(path)
    _check_shape(path, data, lines)
    spec = validate_yaml(path, ExpertsFile, data, lines)
    seen: dict[str, int] = {}
    for i, expert in enumerate(spec.experts):
        if expert.name in seen:
            raise ConfigError(
                f"expert name {expert.name!r} is taken (by experts.{seen[expert.name]}); give "
                "each expert its own name",
                path=str(path),
                line=lines.line(("experts", i, "name")),
                field=f"experts.{i}.name",
            )
        seen[expert.name] = i
    return spec, lines


def _check_shape(path: str | Path, data: Any, lines: LineMap) -> None:
    """The file's top level and ``serve:`` are mappings, and no section has an unknown
    key (a close one is suggested, or the allowed ones are listed)."""

    def fail(loc: tuple[str | int, ...], problem: str) -> ConfigError:
        field = ".".join(map(str, loc)) or None
        return ConfigError(problem, path=str(path), line=lines.line(loc), field=field)

    def unknown(section: Any, loc: tuple[str | int, ...], model: type[BaseModel]) -> None:
        for key in section if isinstance(section, dict) else ():
            if key not in model.model_fields:
                allowed = ", ".join(model.model_fields)
                close = difflib.get_close_matches(str(key), list(model.model_fields), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (allowed: {allowed})"
                raise fail((*loc, key), f"unknown field{hint}")

    if data is None:
        raise fail((), "the file is empty; give an 'experts:' list (docs/serving.md)")
    if not isinstance(data, dict):
        raise fail((), "the top level must be a mapping with an 'experts:' list, not a list")
    unknown(data, (), ExpertsFile)
    serve = data.get("serve")
    if "serve" in data and not isinstance(serve, dict):
        raise fail(
            ("serve",),
            f"'serve' must be a mapping of server settings, not {serve!r} (keys: "
            f"{', '.join(ServeSettings.model_fields)})",
        )
    unknown(serve, ("serve",), ServeSettings)
    if isinstance(serve, dict) and isinstance(serve.get("args"), str):
        raise fail(("serve", "args"), "give the options as a list: args: [--flag, value]")
    if not isinstance(data.get("experts"), list):
        raise fail(
            ("experts",) if "experts" in data else (),
            "give 'experts:' as a list of experts (- name: ..., skills: [...], serve: ...)",
        )
    for i, expert in enumerate(data["experts"]):
        if isinstance(expert, dict):
            if "serve" in expert and "backend" in expert:
                raise fail(
                    ("experts", i, "backend"),
                    "give 'serve' (what `lyceum serve` serves) or 'backend' (where it is "
                    "served), not both: `lyceum serve` writes the backend; remove one",
                )
            unknown(expert, ("experts", i), Expert)
            unknown(expert.get("serve"), ("experts", i, "serve"), ExpertServe)
            unknown(expert.get("generation"), ("experts", i, "generation"), Generation)


def load_experts(path: str | Path) -> ExpertRegistry:
    """Load an experts YAML file; errors name the file, line and field."""
    return ExpertRegistry(load_experts_file(path)[0].experts)
