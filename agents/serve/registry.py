"""The served registry: the experts file with each served expert's ``backend`` pointing at
its live server, as an ``ExpertRegistry`` and as YAML (``experts.served.yaml``) that
``lyceum experts check --file`` and the meta-agent read like any experts file."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from agents.meta.experts import Expert, ExpertRegistry
from agents.serve.plan import ServePlan

__all__ = ["served_path", "served_registry", "write_served"]


def served_path(source: Path) -> Path:
    """``experts.yaml`` → ``experts.served.yaml``, beside it."""
    return source.with_name(f"{source.stem}.served{source.suffix or '.yaml'}")


def _served(expert: Expert, plan: ServePlan) -> Expert:
    if expert.name not in plan.endpoints:
        return expert
    return Expert.model_validate(
        {
            **expert.model_dump(exclude={"serve", "backend"}),
            "backend": plan.endpoints[expert.name],
        }
    )


def served_registry(plan: ServePlan) -> ExpertRegistry:
    """The experts with their served endpoints (for Python users in the same process)."""
    return ExpertRegistry([_served(e, plan) for e in plan.spec.experts])


def write_served(plan: ServePlan, path: Path | None = None) -> Path:
    """Write the served registry (default ``served_path(plan.source)``), atomically: a
    reader sees the old file or the new one, never half of one."""
    path = path or served_path(plan.source)
    experts = [
        _served(e, plan).model_dump(mode="json", exclude={"serve"}, exclude_none=True)
        for e in plan.spec.experts
    ]
    header = (
        f"# Written by `lyceum serve --experts {plan.source.name}` while its servers run;\n"
        "# its endpoints are live only as long as they do.\n"
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(header + yaml.safe_dump({"experts": experts}, sort_keys=False), encoding="utf-8")
    tmp.replace(path)
    return path
