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
from agents.eval.classroom_batch import (
    BatchRow,
    ClassroomBatch,
    ClassroomBatchTask,
    load_batch_config,
    unit_run_id,
)
from agents.eval.classroom_summary import BatchResult, run_classroom_batch
from agents.eval.compare import CurveDiff, compare_points, load_points
from agents.eval.coverage import Coverage, arithmetic_coverage
from agents.eval.datasets import DATASETS, load_dataset
from agents.eval.effects import CONDITIONS, Comparison, EffectReport, Estimate, run_effects
from agents.eval.executors import (
    Executor,
    LocalExecutor,
    ProcessExecutor,
    RayExecutor,
    make_executor,
)
from agents.eval.explainers import GoldExplanations, MisleadingExplanations, first_sentence
from agents.eval.kg_explainers import KGExplanations
from agents.eval.llm_explainer import LLMExplanations, LLMTeacherSpec
from agents.eval.lm import LMStudent, LMTeacherMind, eval_context
from agents.eval.lm_config import FewShotMindConfig, LMModelSpec, LMStudentConfig
from agents.eval.mathdial_metrics import evaluate_at_k
from agents.eval.posttest import HELD_OUT, Outcome, PostTestLesson, effect_graph, effect_teacher
from agents.eval.provenance import code_version, task_meta
from agents.eval.report import Report, write_report
from agents.eval.results import StoredSweep, SweepStore, UnitRecord
from agents.eval.runner import SweepResult, arun_sweep, run_sweep
from agents.eval.simulated import CohortStudent, EstimatingTeacherMind
from agents.eval.strategies import STRATEGIES
from agents.eval.tom import ToMTask
from agents.eval.tom_config import ToMConfig
from agents.eval.tutoring import TutoringConfig, TutoringTask
from agents.eval.tutoring_report import TutoringPoint

__all__ = [
    "CONDITIONS",
    "DATASETS",
    "HELD_OUT",
    "STRATEGIES",
    "Answer",
    "BadRecord",
    "BatchResult",
    "BatchRow",
    "ClassroomBatch",
    "ClassroomBatchTask",
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
    "GoldExplanations",
    "KGExplanations",
    "LLMExplanations",
    "LLMTeacherSpec",
    "LMModelSpec",
    "LMStudent",
    "LMStudentConfig",
    "LMTeacherMind",
    "LocalExecutor",
    "MisleadingExplanations",
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
    "ToMConfig",
    "ToMTask",
    "TutoringConfig",
    "TutoringPoint",
    "TutoringTask",
    "UnitRecord",
    "arithmetic_coverage",
    "arun_sweep",
    "code_version",
    "compare_points",
    "effect_graph",
    "effect_teacher",
    "eval_context",
    "evaluate_at_k",
    "first_sentence",
    "load_batch_config",
    "load_dataset",
    "load_points",
    "make_executor",
    "run_classroom_batch",
    "run_effects",
    "run_sweep",
    "task_meta",
    "unit_run_id",
    "write_report",
]
