"""Evaluation workbench: experiments run end to end through the runtime (simulation results
are labelled as such, never as results about LLMs)."""

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
from agents.eval.mathdial_metrics import evaluate_at_k
from agents.eval.posttest import HELD_OUT, Outcome, PostTestLesson, effect_graph, effect_teacher
from agents.eval.tutoring import TutoringConfig, TutoringTask
from agents.eval.tutoring_report import TutoringPoint

__all__ = [
    "CONDITIONS",
    "HELD_OUT",
    "Answer",
    "BadRecord",
    "Comparison",
    "Coverage",
    "Dataset",
    "Demo",
    "EffectReport",
    "EpisodeKey",
    "Estimate",
    "EvalItem",
    "Explanation",
    "ExplanationSource",
    "Outcome",
    "Payload",
    "PostTestLesson",
    "Student",
    "StudentKind",
    "SweepTask",
    "TeacherMind",
    "TutoringConfig",
    "TutoringPoint",
    "TutoringTask",
    "arithmetic_coverage",
    "effect_graph",
    "effect_teacher",
    "evaluate_at_k",
    "run_effects",
]
