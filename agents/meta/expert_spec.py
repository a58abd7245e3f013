"""The experts YAML file's schema: the experts, their backends, and what to serve.

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

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.models.dialects import Dialect

__all__ = [
    "Expert",
    "ExpertServe",
    "ExpertsFile",
    "Generation",
    "LoraBackend",
    "OpenAIBackend",
    "ServeSettings",
    "TransformersBackend",
    "host_problem",
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
    """A model served over the OpenAI-compatible API under the name ``model``."""

    kind: Literal["openai"]
    model: str


class LoraBackend(_Served):
    """A LoRA adapter served (as the model name ``adapter``) on a shared base model."""

    kind: Literal["lora"]
    adapter: str


class TransformersBackend(_Strict):
    """A local transformers model folder (``path``), run in-process on ``device``."""

    kind: Literal["transformers"]
    path: str
    device: str = "auto"


class Generation(_Strict):
    """Generation settings for an expert's calls."""

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
