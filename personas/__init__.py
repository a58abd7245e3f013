"""personas: who speaks. Conceptual tools now; persona specs, Think/Plan/Execute phases and
minds arrive with the personas issue."""

from personas.tools import ConceptualTool, ToolRegistry, retrieval_tool

__all__ = ["ConceptualTool", "ToolRegistry", "retrieval_tool"]
