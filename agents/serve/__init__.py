"""Serving expert models on existing servers: ``lyceum serve --experts experts.yaml``.

On a CUDA GPU with vLLM installed, one ``vllm serve`` runs a base model with a LoRA
adapter per expert; otherwise ``transformers serve`` runs each expert's model folder. The
supervisor health-checks each server, restarts it when it dies (a bounded number of
times) and stops it cleanly; the served registry points each expert at its live server.
See docs/serving.md.
"""

from agents.serve.commands import (
    LoraModule,
    ServerCommand,
    choose_backend,
    transformers_command,
    vllm_command,
)
from agents.serve.plan import ServePlan, plan_serving
from agents.serve.registry import served_path, served_registry, write_served
from agents.serve.run import run_plan
from agents.serve.supervisor import RestartPolicy, ServeError, Supervisor, wait_healthy

__all__ = [
    "LoraModule",
    "RestartPolicy",
    "ServeError",
    "ServePlan",
    "ServerCommand",
    "Supervisor",
    "choose_backend",
    "plan_serving",
    "run_plan",
    "served_path",
    "served_registry",
    "transformers_command",
    "vllm_command",
    "wait_healthy",
    "write_served",
]
