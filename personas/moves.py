"""Conceptual tools for planning a reply: MathDial teacher moves, Bridge remediation
decisions, and CBT techniques. Each is a vocabulary with guidance in lyceum's own words;
the codes of the Bridge decisions follow the taxonomy its data is annotated with
(``bridge/taxonomy.json``), so annotated data can be read into these types."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from personas.tools import ConceptualTool, ToolArgs, ToolOutput

__all__ = [
    "BridgeArgs",
    "BridgeDecision",
    "BridgeGuidance",
    "CBTTechnique",
    "ErrorType",
    "Intention",
    "MoveArgs",
    "MoveGuidance",
    "Strategy",
    "TeacherMove",
    "TechniqueArgs",
    "TechniqueGuidance",
    "bridge_tool",
    "cbt_tool",
    "moves_tool",
]


class TeacherMove(StrEnum):
    """MathDial's four kinds of teacher move."""

    FOCUS = "focus"
    PROBING = "probing"
    TELLING = "telling"
    GENERIC = "generic"


MOVE_GUIDANCE = {
    TeacherMove.FOCUS: "Point the student at the step or quantity that matters; do not solve it.",
    TeacherMove.PROBING: "Ask the student to explain their reasoning so the error shows itself.",
    TeacherMove.TELLING: "State the fact or step outright; use it last, it ends discovery.",
    TeacherMove.GENERIC: "Keep the conversation going: acknowledge, encourage, check in.",
}


class ErrorType(StrEnum):
    """Why the student went wrong (Bridge step 1)."""

    GUESS = "guess"
    MISINTERPRET = "misinterpret"
    CARELESS = "careless"
    RIGHT_IDEA = "right-idea"
    IMPRECISE = "imprecise"
    DIAGNOSE = "diagnose"
    OTHER = "other"


class Strategy(StrEnum):
    """How to remedy it (Bridge step 2)."""

    EXPLAIN_CONCEPT = "explain_concept"
    ASK_QUESTION = "ask_question"
    PROVIDE_HINT = "provide_hint"
    PROVIDE_STRATEGY = "provide_strategy"
    PROVIDE_EXAMPLE = "provide_example"
    PROVIDE_CORRECTION = "provide_correction"
    PROVIDE_SIMILAR_PROBLEM = "provide_similar_problem"
    SIMPLIFY_QUESTION = "simplify_question"
    AFFIRM_CORRECT_ANSWER = "affirm_correct_answer"
    ENCOURAGE_STUDENT = "encourage_student"
    OTHER = "other"


class Intention(StrEnum):
    """What the reply should achieve (Bridge step 3)."""

    MOTIVATE_STUDENT = "motivate_student"
    ELABORATE_ANSWER = "elaborate_answer"
    CORRECT_MISTAKE = "correct_mistake"
    HINT_MISTAKE = "hint_mistake"
    CLARIFY_MISUNDERSTANDING = "clarify_misunderstanding"
    UNDERSTAND_TOPIC = "understand_topic"
    DIAGNOSE_MISTAKE = "diagnose_mistake"
    SUPPORT_THINKING = "support_thinking"
    EXPLAIN_MISTAKE = "explain_mistake"
    SIGNAL_GOAL = "signal_goal"
    OTHER = "other"


ERROR_GUIDANCE = {
    ErrorType.GUESS: "The answer looks guessed; find out what the student actually knows.",
    ErrorType.MISINTERPRET: "The student answered a different question; restate what is asked.",
    ErrorType.CARELESS: "A slip in an otherwise sound method; point at the step to recheck.",
    ErrorType.RIGHT_IDEA: "The approach is right but unfinished; help them take the last step.",
    ErrorType.IMPRECISE: "Essentially right; only the form or precision is off.",
    ErrorType.DIAGNOSE: "The cause is unclear; ask before you explain.",
    ErrorType.OTHER: "None of these; describe the error in your own words.",
}


class BridgeDecision(BaseModel):
    """Bridge's decision, made in order before the reply is written: the error type,
    then the remediation strategy, then the intention."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_type: ErrorType
    strategy: Strategy
    intention: Intention
    notes: tuple[str, ...] = ()

    @classmethod
    def from_annotation(cls, error_type: str, strategy: str, intention: str) -> BridgeDecision:
        """Read one annotated decision. Annotators sometimes typed a free-text reason where
        the code is ``other``; such a value becomes ``other`` and its text is kept in
        ``notes``."""
        notes: list[str] = []

        def code(enum: type[StrEnum], value: str) -> Any:
            try:
                return enum(value.strip())
            except ValueError:
                notes.append(value.strip())
                return enum("other")

        return cls(
            error_type=code(ErrorType, error_type),
            strategy=code(Strategy, strategy),
            intention=code(Intention, intention),
            notes=tuple(notes),
        )


class CBTTechnique(StrEnum):
    """Techniques a CBT trainee (or therapist persona) can plan with."""

    SOCRATIC_QUESTIONING = "socratic_questioning"
    IDENTIFY_AUTOMATIC_THOUGHT = "identify_automatic_thought"
    EXAMINE_EVIDENCE = "examine_evidence"
    COGNITIVE_RESTRUCTURING = "cognitive_restructuring"
    DECATASTROPHIZING = "decatastrophizing"
    DOWNWARD_ARROW = "downward_arrow"
    BEHAVIOURAL_ACTIVATION = "behavioural_activation"
    VALIDATION = "validation"


CBT_GUIDANCE = {
    CBTTechnique.SOCRATIC_QUESTIONING: "Ask open questions that let the client test a belief.",
    CBTTechnique.IDENTIFY_AUTOMATIC_THOUGHT: "Ask what went through their mind in the situation.",
    CBTTechnique.EXAMINE_EVIDENCE: "Weigh what supports the thought and what does not.",
    CBTTechnique.COGNITIVE_RESTRUCTURING: "Help them phrase a more balanced alternative thought.",
    CBTTechnique.DECATASTROPHIZING: "Ask what the worst, best and most likely outcomes are.",
    CBTTechnique.DOWNWARD_ARROW: "Ask what the thought would mean if true, down to a core belief.",
    CBTTechnique.BEHAVIOURAL_ACTIVATION: "Plan one small, doable activity that used to help.",
    CBTTechnique.VALIDATION: "Acknowledge the feeling before working on the thought.",
}


class MoveGuidance(ToolOutput):
    """``teacher_moves``: the chosen move and how to make it."""

    move: TeacherMove
    guidance: str


class BridgeGuidance(ToolOutput):
    """``bridge_decision``: the validated decision and guidance for its error type."""

    decision: BridgeDecision
    guidance: str


class TechniqueGuidance(ToolOutput):
    """``cbt_technique``: the chosen technique and how to use it."""

    technique: CBTTechnique
    guidance: str


class MoveArgs(ToolArgs):
    """Arguments of teacher_moves."""

    move: TeacherMove = Field(description="The MathDial move; telling is the last resort.")


def moves_tool() -> ConceptualTool:
    """``teacher_moves``: guidance for one MathDial move (``MoveArgs.move``)."""

    async def call(args: MoveArgs) -> MoveGuidance:
        return MoveGuidance(move=args.move, guidance=MOVE_GUIDANCE[args.move])

    return ConceptualTool(
        name="teacher_moves",
        description="Choose a teacher move: focus, probing, telling (last resort) or generic.",
        arguments=MoveArgs,
        call=call,
    )


class BridgeArgs(ToolArgs):
    """Arguments of bridge_decision, decided in this order."""

    error_type: ErrorType = Field(description="Step 1: why the student went wrong.")
    strategy: Strategy = Field(description="Step 2: how to remedy it.")
    intention: Intention = Field(description="Step 3: what the reply should achieve.")


def bridge_tool() -> ConceptualTool:
    """``bridge_decision``: validate an (error type, strategy, intention) decision
    (``BridgeArgs``)."""

    async def call(args: BridgeArgs) -> BridgeGuidance:
        decision = BridgeDecision(
            error_type=args.error_type, strategy=args.strategy, intention=args.intention
        )
        return BridgeGuidance(decision=decision, guidance=ERROR_GUIDANCE[decision.error_type])

    return ConceptualTool(
        name="bridge_decision",
        description="Decide, in order, the student's error type, a "
        "remediation strategy and the intention of the reply.",
        arguments=BridgeArgs,
        call=call,
    )


class TechniqueArgs(ToolArgs):
    """Arguments of cbt_technique."""

    technique: CBTTechnique = Field(description="The CBT technique to use next.")


def cbt_tool() -> ConceptualTool:
    """``cbt_technique``: guidance for one CBT technique (``TechniqueArgs.technique``)."""

    async def call(args: TechniqueArgs) -> TechniqueGuidance:
        return TechniqueGuidance(technique=args.technique, guidance=CBT_GUIDANCE[args.technique])

    return ConceptualTool(
        name="cbt_technique",
        description="Choose a CBT technique: " + ", ".join(t.value for t in CBTTechnique) + ".",
        arguments=TechniqueArgs,
        call=call,
    )
