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
from agents.eval.compare import CurveDiff, compare_points, load_points
from agents.eval.coverage import Coverage, arithmetic_coverage
from agents.eval.effects import CONDITIONS, Comparison, EffectReport, Estimate, run_effects
from agents.eval.executors import Executor, LocalExecutor, RayExecutor, make_executor
from agents.eval.llm_explainer import LLMExplanations
from agents.eval.lm import LMStudent, LMTeacherMind, eval_context
from agents.eval.lm_config import FewShotMindConfig, LMModelSpec, LMStudentConfig
from agents.eval.posttest import HELD_OUT, Outcome, PostTestLesson, effect_graph, effect_teacher
from agents.eval.provenance import code_version, task_meta
from agents.eval.report import Report, write_report
from agents.eval.results import StoredSweep, SweepStore, UnitRecord
from agents.eval.runner import SweepResult, arun_sweep, run_sweep

__all__ = [
    "CONDITIONS",
    "HELD_OUT",
    "Answer",
    "BadRecord",
    "Comparison",
    "Coverage",
    "CurveDiff",
    "Dataset",
    "Demo",
    "EffectReport",
    "EpisodeKey",
    "Estimate",
    "EvalItem",
    "Executor",
    "Explanation",
    "ExplanationSource",
    "FewShotMindConfig",
    "LLMExplanations",
    "LMModelSpec",
    "LMStudent",
    "LMStudentConfig",
    "LMTeacherMind",
    "LocalExecutor",
    "Outcome",
    "Payload",
    "PostTestLesson",
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
    "arithmetic_coverage",
    "arun_sweep",
    "code_version",
    "compare_points",
    "effect_graph",
    "effect_teacher",
    "eval_context",
    "load_points",
    "make_executor",
    "run_effects",
    "run_sweep",
    "task_meta",
    "write_report",
]
