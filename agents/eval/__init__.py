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
from agents.eval.llm_explainer import LLMExplanations
from agents.eval.lm import LMStudent, LMTeacherMind, eval_context
from agents.eval.lm_config import FewShotMindConfig, LMModelSpec, LMStudentConfig
from agents.eval.posttest import HELD_OUT, Outcome, PostTestLesson, effect_graph, effect_teacher

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
    "FewShotMindConfig",
    "LLMExplanations",
    "LMModelSpec",
    "LMStudent",
    "LMStudentConfig",
    "LMTeacherMind",
    "Outcome",
    "Payload",
    "PostTestLesson",
    "Student",
    "StudentKind",
    "SweepTask",
    "TeacherMind",
    "arithmetic_coverage",
    "effect_graph",
    "effect_teacher",
    "eval_context",
    "run_effects",
]
