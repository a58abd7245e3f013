"""personas: who speaks. Persona specs, conceptual tools and the calculation sandbox now;
Think/Plan/Execute phases and minds arrive with the rest of the personas issue."""

from personas.minds import (
    PROFILES,
    Appraisal,
    BKTMentalModel,
    LearnerItem,
    LearnerProfile,
    SimulatedLearner,
    brier_score,
)
from personas.sandbox import SandboxError, SandboxResult, run_sandboxed
from personas.spec import BUILTIN_PERSONAS, PersonaSpec, builtin_persona, load_persona
from personas.tools import ConceptualTool, ToolRegistry, calculator_tool, retrieval_tool

__all__ = [
    "BUILTIN_PERSONAS",
    "PROFILES",
    "Appraisal",
    "BKTMentalModel",
    "ConceptualTool",
    "LearnerItem",
    "LearnerProfile",
    "PersonaSpec",
    "SandboxError",
    "SandboxResult",
    "SimulatedLearner",
    "ToolRegistry",
    "brier_score",
    "builtin_persona",
    "calculator_tool",
    "load_persona",
    "retrieval_tool",
    "run_sandboxed",
]
