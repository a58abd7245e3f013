"""personas: who speaks. Persona specs, Think → Plan → Execute personas, LLM and simulated
minds, the teacher's mental model, conceptual tools, the calculator (an arithmetic
interpreter) and the isolating executor for model-written code."""

from personas.classmates import AssistantMind, ClassmateMind
from personas.classroom_teacher import ClassroomTeacherMind
from personas.executor import CodeExecutor, ExecutionResult, ExecutorLimits, Isolation
from personas.guided import GuidedLLMMind
from personas.minds import (
    PROFILES,
    EstimatingMentalModel,
    LearnerItem,
    LearnerProfile,
    MentalParams,
    Reading,
    ReadingModel,
    ReadingParams,
    SimulatedLearner,
    brier_score,
    fit_mental_params,
)
from personas.minds.few_shot import FewShotMentalModel
from personas.patient import (
    CCDTaxonomy,
    IntentClassifier,
    PatientSession,
    SimulatedPatient,
    TextSimilarity,
    load_taxonomy,
    score_cognitive_model,
)
from personas.persona import LLMMind, Mind, Persona, PersonaState, Reply, ReportingMind
from personas.planning import PlanOut, plan_output_type
from personas.prompting import TEMPLATES, ThoughtVars, ToolInfo, render_prompt
from personas.reviewer import RubricReviewer, review_text
from personas.sandbox import SandboxError, SandboxResult, run_sandboxed
from personas.simulated import SimulatedStudent, learner_items
from personas.spec import BUILTIN_PERSONAS, PersonaSpec, builtin_persona, load_persona
from personas.state import run_state
from personas.teacher import SimulatedTeacherMind
from personas.tools import (
    ConceptualTool,
    ToolArgs,
    ToolRegistry,
    calculator_tool,
    expert_tool,
    python_tool,
    retrieval_tool,
)

__all__ = [
    "BUILTIN_PERSONAS",
    "PROFILES",
    "TEMPLATES",
    "AssistantMind",
    "CCDTaxonomy",
    "ClassmateMind",
    "ClassroomTeacherMind",
    "CodeExecutor",
    "ConceptualTool",
    "EstimatingMentalModel",
    "ExecutionResult",
    "ExecutorLimits",
    "FewShotMentalModel",
    "GuidedLLMMind",
    "IntentClassifier",
    "Isolation",
    "LLMMind",
    "LearnerItem",
    "LearnerProfile",
    "MentalParams",
    "Mind",
    "PatientSession",
    "Persona",
    "PersonaSpec",
    "PersonaState",
    "PlanOut",
    "Reading",
    "ReadingModel",
    "ReadingParams",
    "Reply",
    "ReportingMind",
    "RubricReviewer",
    "SandboxError",
    "SandboxResult",
    "SimulatedLearner",
    "SimulatedPatient",
    "SimulatedStudent",
    "SimulatedTeacherMind",
    "TextSimilarity",
    "ThoughtVars",
    "ToolArgs",
    "ToolInfo",
    "ToolRegistry",
    "brier_score",
    "builtin_persona",
    "calculator_tool",
    "expert_tool",
    "fit_mental_params",
    "learner_items",
    "load_persona",
    "load_taxonomy",
    "plan_output_type",
    "python_tool",
    "render_prompt",
    "retrieval_tool",
    "review_text",
    "run_sandboxed",
    "run_state",
    "score_cognitive_model",
]
