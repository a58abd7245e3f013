"""Running a classroom batch and summarising it: ``run_classroom_batch`` (the sweep runner
over a ``ClassroomBatchTask``), the rows in batch order, a CSV and a Parquet table and one
plot (each class's quiz mastery before and after its lesson).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

from agents.eval.classroom_batch import BatchRow, ClassroomBatch, ClassroomBatchTask
from agents.eval.executors import Executor
from agents.eval.runner import SweepResult, run_sweep
from agents.store import resolve_db_url

__all__ = [
    "BatchResult",
    "batch_figure",
    "run_classroom_batch",
    "write_batch_csv",
    "write_batch_parquet",
]

SIMULATION_NOTE = (
    "SIMULATION: every mind is simulated; these numbers describe the simulation, not LLMs."
)


@dataclass(frozen=True)
class BatchResult:
    """A finished batch.

    Attributes:
        rows: One row per classroom, in batch order (lesson, profile, seed).
        sweep: The sweep the runner ran (its hash, how many classrooms were reused).
        simulated: Whether every mind was simulated.
    """

    rows: tuple[BatchRow, ...]
    sweep: SweepResult
    simulated: bool

    @property
    def label(self) -> str:
        """What the numbers describe: SIMULATION when every mind is simulated."""
        if self.simulated:
            return SIMULATION_NOTE
        return "LLM minds; the students are simulated learners (a simulation)."


def run_classroom_batch(
    batch: ClassroomBatch,
    *,
    db: str | None = None,
    executor: Literal["local", "process", "ray"] | Executor = "local",
    concurrency: int = 8,
    address: str | None = None,
    progress: bool = True,
) -> BatchResult:
    """Run every classroom of ``batch`` not yet stored in ``db``, and summarise all of them.

    Args:
        batch: The classrooms.
        db: The store (runs and the batch's rows); None: ``$LYCEUM_DB`` or ``lyceum.db``.
        executor: ``"local"``, ``"process"``, ``"ray"`` or an executor
            (``agents.eval.executors``).
        concurrency: The most classrooms in flight at once (per Ray chunk on Ray).
        address: The Ray cluster to join (``"ray"`` only).
        progress: Show a progress bar on stderr.

    Raises:
        UserError: An unknown lesson or an unset key variable (before anything runs), or
            ``address`` without the Ray executor.
        Exception: The first classroom's error, naming it; every classroom finished
            before it is stored.
    """
    url = resolve_db_url(db)
    task = ClassroomBatchTask(batch, url)
    task.check()
    result = run_sweep(
        task,
        store=url,
        executor=executor,
        concurrency=concurrency,
        address=address,
        progress=progress,
    )
    rows = tuple(BatchRow.from_payload(result.units[key].payload) for key in batch.units())
    return BatchResult(rows, result, batch.base.simulated())


def write_batch_csv(rows: Sequence[BatchRow], path: Path) -> Path:
    """The rows as CSV at ``path`` (its ``simulated`` column says what each describes)."""
    names = [f.name for f in fields(BatchRow)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))
    return path


def write_batch_parquet(rows: Sequence[BatchRow], path: Path) -> Path:
    """The rows as a Parquet file at ``path``, typed: the counts are int64, the scores
    float64 with a missing one as null (not NaN), ``simulated`` a boolean.

    Raises:
        ImportError: pyarrow is missing (the ``eval`` extra).
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("Parquet needs pyarrow: pip install 'lyceum[eval]'") from None
    text, count, score = pa.string(), pa.int64(), pa.float64()
    schema = pa.schema(
        [
            pa.field("lesson", text, nullable=False),
            pa.field("profile", text, nullable=False),
            pa.field("seed", count, nullable=False),
            pa.field("students", count, nullable=False),
            pa.field("status", text, nullable=False),
            pa.field("quiz_before", score),
            pa.field("quiz_after", score),
            pa.field("estimate_gap", score),
            pa.field("messages", count, nullable=False),
            pa.field("simulated", pa.bool_(), nullable=False),
            pa.field("run_id", text, nullable=False),
        ]
    )
    assert schema.names == [f.name for f in fields(BatchRow)], "BatchRow changed: type it here"
    pq.write_table(pa.Table.from_pylist([asdict(r) for r in rows], schema=schema), path)
    return path


def batch_figure(rows: Sequence[BatchRow], *, simulated: bool) -> object:
    """Each class's mean quiz score before and after its lesson (one arrow per run, grouped
    by lesson and profile, seeds side by side).

    Raises:
        ImportError: matplotlib is missing (the ``eval`` extra).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("the batch plot needs matplotlib: pip install 'lyceum[eval]'") from None
    groups = list(dict.fromkeys((r.lesson, r.profile) for r in rows))
    fig = Figure(figsize=(max(4.5, 1.2 * len(groups) + 2), 3.8), layout="constrained")
    ax = fig.subplots()
    for g, group in enumerate(groups):
        runs = [r for r in rows if (r.lesson, r.profile) == group]
        for i, row in enumerate(runs):
            if row.quiz_before is None or row.quiz_after is None:
                continue
            x = g + (i - (len(runs) - 1) / 2) * min(0.15, 0.8 / max(1, len(runs)))
            ax.annotate(
                "",
                xy=(x, row.quiz_after),
                xytext=(x, row.quiz_before),
                arrowprops={"arrowstyle": "->", "color": "tab:blue"},
            )
            ax.plot([x], [row.quiz_before], "o", color="tab:gray", ms=3)
    ax.set_xticks(range(len(groups)), [f"{lesson}\n{profile}" for lesson, profile in groups])
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("mean quiz score (first → last)")
    ax.grid(alpha=0.3, axis="y")
    title = "Quiz mastery, first quiz → last quiz\n(one arrow per seed"
    ax.set_title(title + ("; SIMULATION)" if simulated else ")"), fontsize="medium")
    return fig
