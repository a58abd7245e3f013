"""The public API is pinned: each package re-exports exactly these names."""

from __future__ import annotations
import __future__

import importlib
from types import ModuleType

import pytest

API = {
    "protocols": [
        "EVENT_ADAPTER",
        "MESSAGE_ADAPTER",
        "MESSAGE_KINDS",
        "MESSAGE_TAGS",
        "MESSAGE_TYPES",
        "Answer",
        "BudgetExceeded",
        "BudgetWarning",
        "ChatMessage",
        "ConfigError",
        "Envelope",
        "Error",
        "Event",
        "Explanation",
        "GraphBuildError",
        "Handoff",
        "Hint",
        "LessonStep",
        "LessonStepKind",
        "LyceumError",
        "Mastery",
        "MasterySource",
        "Message",
        "MessageSent",
        "ModelCallFinished",
        "ModelCallStarted",
        "ModelClient",
        "ModelContext",
        "ModelHTTPError",
        "ModelRequest",
        "ModelRequestsBlocked",
        "ModelResponse",
        "PatientUtterance",
        "Plan",
        "PlannedCall",
        "Question",
        "Remark",
        "Review",
        "RunStarted",
        "RunStopped",
        "Stop",
        "StopReason",
        "StoreError",
        "TaskAssignment",
        "TaskResult",
        "TextDelta",
        "Thought",
        "TokenDelta",
        "ToolCall",
        "ToolResult",
        "UnexpectedModelOutput",
        "Usage",
        "UserError",
        "json_schema",
        "transcript",
    ],
    "agents": [
        "Agent",
        "AgentGraph",
        "Budget",
        "Edge",
        "Expert",
        "ExpertRegistry",
        "FunctionAgent",
        "HumanAgent",
        "InputSource",
        "LLMPlanner",
        "MetaAgent",
        "QueueInput",
        "ReplayReport",
        "RuleBasedPlanner",
        "RunContext",
        "RunResult",
        "RunStore",
        "Runtime",
        "SqlRunStore",
        "StatefulAgent",
        "SubTask",
        "TaskPlan",
        "TerminalInput",
        "load_experts",
    ],
    "agents.models": [
        "BLOCK_ENV",
        "CachedModel",
        "ChatMessage",
        "FunctionModel",
        "ModelClient",
        "ModelRequest",
        "ModelResponse",
        "OpenAIChatClient",
        "ReplayModel",
        "TextDelta",
        "TransformersClient",
        "Usage",
        "check_model_requests_allowed",
    ],
    "agents.cli": ["main", "render_message"],
    "agents.eval": [
        "CONDITIONS",
        "DATASETS",
        "HELD_OUT",
        "STRATEGIES",
        "Answer",
        "BadRecord",
        "CohortStudent",
        "Comparison",
        "Coverage",
        "CurveDiff",
        "CurvePoint",
        "Dataset",
        "Demo",
        "EffectReport",
        "EpisodeKey",
        "Estimate",
        "EstimatingTeacherMind",
        "EvalItem",
        "Executor",
        "Explanation",
        "ExplanationSource",
        "FewShotMindConfig",
        "LLMExplanations",
        "LLMTeacherSpec",
        "LMModelSpec",
        "LMStudent",
        "LMStudentConfig",
        "LMTeacherMind",
        "LocalExecutor",
        "GoldExplanations",
        "MisleadingExplanations",
        "KGExplanations",
        "Outcome",
        "Payload",
        "PostTestLesson",
        "ProcessExecutor",
        "RayExecutor",
        "Report",
        "StoredSweep",
        "Student",
        "StudentKind",
        "SweepResult",
        "SweepStore",
        "SweepTask",
        "TeacherMind",
        "UnitRecord",
        "ToMConfig",
        "ToMTask",
        "TutoringConfig",
        "TutoringPoint",
        "TutoringTask",
        "arithmetic_coverage",
        "arun_sweep",
        "code_version",
        "compare_points",
        "effect_graph",
        "effect_teacher",
        "eval_context",
        "load_points",
        "make_executor",
        "first_sentence",
        "load_dataset",
        "evaluate_at_k",
        "run_effects",
        "run_sweep",
        "task_meta",
        "write_report",
    ],
    "agents.meta": [
        "Expert",
        "ExpertRegistry",
        "LLMPlanner",
        "MetaAgent",
        "Regenerated",
        "RuleBasedPlanner",
        "SubTask",
        "TaskPlan",
        "load_experts",
    ],
    "agents.store": [
        "DEFAULT_DB",
        "ModelCallRecord",
        "RunFinish",
        "RunRecord",
        "RunStore",
        "SqlRunStore",
        "StepRecord",
        "StepWriter",
        "resolve_db_url",
    ],
    "knowledge_graph": [
        "Direction",
        "Edge",
        "GraphIntegrityError",
        "GraphSchema",
        "GraphStats",
        "GraphStore",
        "MemoryGraphStore",
        "Node",
        "SchemaViolation",
        "SqlGraphStore",
        "export_graphml",
        "export_jsonl",
        "import_graphml",
        "import_jsonl",
        "read_jsonl",
    ],
    "knowledge_graph.builders": [
        "CURRICULUM_EDGES",
        "CURRICULUM_LABELS",
        "DATA_ENV",
        "TAGS",
        "cbt_graph",
        "curriculum_graph",
        "data_file",
        "gsm8k_graph",
        "load_gsm8k",
        "load_misconception_records",
        "load_profiles",
        "misconception_graph",
        "sample_curriculum",
        "sample_patient_graph",
        "tag_distribution",
        "tag_solution",
    ],
    "personas.patient": [
        "FIELDS",
        "INTENTS",
        "STYLES",
        "STYLE_MODELS",
        "CCDTaxonomy",
        "ExampleClassifier",
        "Intent",
        "IntentClassifier",
        "PatientSession",
        "SimulatedPatient",
        "StyleModel",
        "TextSimilarity",
        "Vote",
        "copied_fraction",
        "embeddings_installed",
        "load_examples",
        "load_taxonomy",
        "score_cognitive_model",
    ],
    "personas": [
        "BUILTIN_PERSONAS",
        "ConceptualTool",
        "EstimatingMentalModel",
        "FewShotMentalModel",
        "LLMMind",
        "LearnerItem",
        "LearnerProfile",
        "MentalParams",
        "Mind",
        "PROFILES",
        "CCDTaxonomy",
        "IntentClassifier",
        "PatientSession",
        "TextSimilarity",
        "load_taxonomy",
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
        "CodeExecutor",
        "ExecutionResult",
        "ExecutorLimits",
        "Isolation",
        "SimulatedPatient",
        "SimulatedStudent",
        "SimulatedTeacherMind",
        "ThoughtVars",
        "ToolArgs",
        "ToolInfo",
        "TEMPLATES",
        "ToolRegistry",
        "brier_score",
        "builtin_persona",
        "calculator_tool",
        "expert_tool",
        "fit_mental_params",
        "learner_items",
        "load_persona",
        "plan_output_type",
        "python_tool",
        "render_prompt",
        "retrieval_tool",
        "review_text",
        "run_sandboxed",
        "run_state",
        "score_cognitive_model",
    ],
    "personas.learned": [
        "BridgeExample",
        "BridgeModel",
        "BuildReport",
        "Detection",
        "DialogueTurn",
        "HeadScore",
        "MathDialDialogue",
        "MoveClassifier",
        "MoveCrossValidation",
        "SolutionFacts",
        "Telling",
        "TellingDetector",
        "TextClassifier",
        "build_models",
        "conversation_text",
        "cross_validate_moves",
        "default_models_dir",
        "evaluate_telling",
        "judge_dialogue",
        "load_bridge",
        "load_mathdial",
    ],
}


@pytest.mark.parametrize("package", sorted(API))
def test_public_api_is_pinned(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(API[package])
    for name in module.__all__:
        assert hasattr(module, name), f"{package}.{name} is in __all__ but missing"


def public_names(module: ModuleType) -> set[str]:
    """What ``from module import *`` would offer without ``__all__``: its public names,
    less submodules and ``from __future__`` features."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType | __future__._Feature)
    }


@pytest.mark.parametrize("package", sorted(API))
def test_every_public_name_is_listed(package: str) -> None:
    """A name a package shows without listing it in ``__all__`` (as httpx checks) is either
    public API to pin, or an import to hide behind an underscore or a submodule."""
    module = importlib.import_module(package)
    assert public_names(module) - set(module.__all__) == set()


def test_test_servers_are_not_public_api() -> None:
    import agents.models

    for name in ("FakeOpenAIServer", "Scripted", "ReceivedRequest", "call_hash"):
        assert name not in agents.models.__all__ and not hasattr(agents.models, name), name


def test_heavy_libraries_are_not_imported_eagerly() -> None:
    import subprocess
    import sys

    code = (
        "import sys, agents, agents.models, agents.cli, protocols, personas, knowledge_graph\n"
        "import personas.learned\n"
        "heavy = [m for m in ('torch', 'transformers', 'ray', 'streamlit', 'autogen_agentchat',"
        " 'sklearn')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_model_vocabulary_is_defined_once_in_protocols() -> None:
    import agents.models
    import protocols.models

    for name in ("ChatMessage", "ModelClient", "ModelRequest", "ModelResponse", "TextDelta"):
        assert getattr(agents.models, name) is getattr(protocols.models, name), name
    assert agents.models.Usage is protocols.Usage
    assert not hasattr(agents.models.ModelClient, "complete_structured")  # ctx.complete only
