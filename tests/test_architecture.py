"""Dependencies point one way (docs/architecture.md); networkx stays inside its two homes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["protocols", "agents", "personas", "knowledge_graph", "ui"]


def imports_of(package: str) -> dict[str, set[str]]:
    """For each module of `package`: the top-level names it imports."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


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
