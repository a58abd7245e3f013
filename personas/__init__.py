"""personas: who speaks. Conceptual tools and the calculation sandbox now; persona specs,
Think/Plan/Execute phases and minds arrive with the personas issue."""

from personas.sandbox import SandboxError, SandboxResult, run_sandboxed
from personas.tools import ConceptualTool, ToolRegistry, calculator_tool, retrieval_tool

__all__ = [
    "ConceptualTool",
    "SandboxError",
    "SandboxResult",
    "ToolRegistry",
    "calculator_tool",
    "retrieval_tool",
    "run_sandboxed",
]
