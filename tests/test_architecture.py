"""Dependencies point one way (docs/architecture.md); networkx stays inside its two homes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["protocols", "agents", "personas", "knowledge_graph", "ui"]
API_PACKAGES = {
    "protocols",
    "agents",
    "agents.cli",
    "agents.meta",
    "agents.models",
    "agents.serve",
    "agents.store",
    "personas",
    "knowledge_graph",
    "knowledge_graph.builders",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """The dotted modules a file imports, relative imports resolved (``from .x import y``
    in ``agents/cli/app.py`` is ``agents.cli.x``; ``from . import y`` may name a module,
    so ``agents.cli.y`` is counted too)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def imports_of(package: str) -> dict[str, set[str]]:
    """For each module of `package`: the top-level names it imports (relative included)."""
    return {
        str(path.relative_to(ROOT)): {m.split(".")[0] for m in imported_modules(path)}
        for path in (ROOT / package).rglob("*.py")
    }


def allowed() -> dict[str, set[str]]:
    """The dependency edges drawn in docs/architecture.md."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    diagram = text.split("```mermaid", 1)[1].split("```", 1)[0]
    edges: dict[str, set[str]] = {p: {p} for p in PACKAGES}
    for source, target in re.findall(r"(\w+) --> (\w+)", diagram):
        edges[source].add(target)
    return edges


def test_package_dependencies_follow_the_documented_direction() -> None:
    edges = allowed()
    for package in PACKAGES:
        for module, names in imports_of(package).items():
            ours = names & set(PACKAGES)
            assert ours <= edges[package], f"{module} imports {sorted(ours - edges[package])}"


def test_protocols_imports_nothing_of_ours() -> None:
    assert allowed()["protocols"] == {"protocols"}


def test_networkx_stays_inside_knowledge_graph_and_the_agent_graph() -> None:
    for package in PACKAGES:
        for module, names in imports_of(package).items():
            if "networkx" in names:
                assert module.startswith("knowledge_graph/") or module == "agents/graph.py", module


PERIPHERY = (
    "agents.autogen",
    "agents.cli",
    "agents.demo",
    "agents.eval",
    "agents.meta",
    "agents.serve",
)


def test_the_core_of_agents_imports_neither_cli_demo_eval_nor_meta() -> None:
    """The core (agent, graph, runtime, budget, gateway, human, models, store) never reaches
    into the periphery; the periphery builds on the core. (The package ``__init__`` may
    re-export meta's names for ``from agents import MetaAgent``.)"""
    for path in (ROOT / "agents").rglob("*.py"):
        name = module_name(path)
        if name == "agents" or name.startswith(PERIPHERY):
            continue
        reached = {m for m in imported_modules(path) if m.startswith(PERIPHERY)}
        assert not reached, f"{name} (core) imports {sorted(reached)}"


def test_autogen_is_imported_only_by_its_integration() -> None:
    """AutoGen is an integration, not the core runtime: only ``agents/autogen/`` imports
    Microsoft's AutoGen packages (nor does anything import AG2's ``autogen``)."""
    for package in PACKAGES:
        for module, names in imports_of(package).items():
            reached = {n for n in names if n == "autogen" or n.startswith("autogen_")}
            if module.startswith("agents/autogen/"):
                assert "autogen" not in reached, f"{module} imports AG2's autogen"
                continue
            assert not reached, f"{module} imports {sorted(reached)}"


def test_relative_imports_are_resolved_by_the_checks() -> None:
    """A relative import cannot slip past the layering checks."""
    probe = ROOT / "agents" / "models" / "_probe_relative.py"
    probe.write_text("from ..cli import app\nfrom ..meta.agent import MetaAgent\n")
    try:
        assert {"agents.cli", "agents.cli.app", "agents.meta.agent"} <= imported_modules(probe)
    finally:
        probe.unlink()


def test_ui_imports_only_public_names() -> None:
    """The UI is a client: it imports from our packages only what their ``__all__`` lists."""
    import importlib

    ours = set(PACKAGES)
    for path in (ROOT / "ui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue  # ui's own modules
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.split(".")[0] not in ours - {"ui"}:
                    continue
                module = importlib.import_module(node.module)
                public = set(getattr(module, "__all__", ()))
                for alias in node.names:
                    assert alias.name in public, (
                        f"{path.relative_to(ROOT)} imports {node.module}.{alias.name}, "
                        f"which {node.module}.__all__ does not list"
                    )
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.split(".")[0]
                    assert top not in ours - {"ui"} or alias.name in API_PACKAGES, (
                        f"{path.relative_to(ROOT)} imports the module {alias.name}; "
                        "import public names from a package instead"
                    )
