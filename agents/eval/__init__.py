"""Evaluation workbench: experiments run end to end through the runtime (simulation results
are labelled as such, never as results about LLMs)."""

from agents.eval.analysis import CurvePoint
from agents.eval.base import (
    Answer,
    BadRecord,
    Dataset,
    Demo,
    EpisodeKey,
    EvalItem,
    Explanation,
    ExplanationSource,
    Payload,
    Student,
    StudentKind,
    SweepTask,
    TeacherMind,
)
from agents.eval.coverage import Coverage, arithmetic_coverage
from agents.eval.effects import CONDITIONS, Comparison, EffectReport, Estimate, run_effects
from agents.eval.kg_explainers import KGExplanations
from agents.eval.posttest import HELD_OUT, Outcome, PostTestLesson, effect_graph, effect_teacher
from agents.eval.simulated import CohortStudent, EstimatingTeacherMind
from agents.eval.strategies import STRATEGIES
from agents.eval.tom import ToMTask
from agents.eval.tom_config import ToMConfig

__all__ = [
    "CONDITIONS",
    "HELD_OUT",
    "STRATEGIES",
    "Answer",
    "BadRecord",
    "CohortStudent",
    "Comparison",
    "Coverage",
    "CurvePoint",
    "Dataset",
    "Demo",
    "EffectReport",
    "EpisodeKey",
    "Estimate",
    "EstimatingTeacherMind",
    "EvalItem",
    "Explanation",
    "ExplanationSource",
    "KGExplanations",
    "Outcome",
    "Payload",
    "PostTestLesson",
    "Student",
    "StudentKind",
    "SweepTask",
    "TeacherMind",
    "ToMConfig",
    "ToMTask",
    "arithmetic_coverage",
    "effect_graph",
    "effect_teacher",
    "run_effects",
]
