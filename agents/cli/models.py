"""``lyceum models``: build the learned decision models from the data folder, and show
what a built model was measured to do."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from agents.cli.kg import data_option
from agents.cli.options import make_console

__all__ = ["models"]

dir_option = click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The models folder (default: $LYCEUM_CACHE/models, else ~/.cache/lyceum/models).",
)


@click.group()
def models() -> None:
    """Build and inspect the learned decision models (Bridge decisions, MathDial moves)."""


def _scores_table(title: str, rows: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title=title)
    names = (
        "head",
        "n",
        "accuracy",
        "macro-F1",
        "majority",
        "maj. acc.",
        "maj. F1",
        "F1 gap 95% CI",
    )
    for name in names:
        table.add_column(name, justify="left" if name in ("head", "majority") else "right")
    for row in rows:
        gap = row.get("gap_interval") or (float("nan"), float("nan"))
        table.add_row(
            str(row["name"]),
            str(row["n"]),
            f"{row['accuracy']:.3f}",
            f"{row['macro_f1']:.3f}",
            str(row["baseline_label"]),
            f"{row['baseline_accuracy']:.3f}",
            f"{row['baseline_macro_f1']:.3f}",
            f"{gap[0]:+.3f} to {gap[1]:+.3f}",
        )
    return table


def _detection_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="Telling on MathDial teacher turns (gold: the (telling) move)")
    for name in ("detector", "turns", "telling", "flagged", "precision", "recall"):
        table.add_column(name, justify="left" if name == "detector" else "right")
    for row in rows:
        table.add_row(
            str(row["name"]),
            str(row["n"]),
            str(row["positives"]),
            str(row["flagged"]),
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
        )
    return table


@models.command()
@data_option
@dir_option
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the folds.")
def build(data_dir: Path | None, out: Path | None, seed: int) -> None:
    """Train every model from the data folder, measure each once, and write the files.

    Bridge: trained on bridge/train.json, evaluated once on bridge/validation.json. MathDial:
    the move classifier is cross-validated (grouped by problem), then trained on every
    teacher turn; the telling detector is scored against the (telling) moves.
    """
    from personas.learned import build_models

    console, log = make_console(), make_console(stderr=True)
    started = time.perf_counter()

    def progress(step: str) -> None:
        log.print(f"[{time.perf_counter() - started:5.1f}s] {step}", markup=False)

    report = build_models(data_dir, out, seed=seed, progress=progress)
    console.print(
        _scores_table(
            "Bridge decisions on bridge/validation.json (majority: train's most common code)",
            [s.as_dict() for s in report.bridge],
        )
    )
    console.print(
        _scores_table(
            "MathDial moves, nested 5-fold cross-validation grouped by problem",
            [report.moves.as_dict()],
        )
    )
    console.print(
        _detection_table([d.as_dict() for d in (*report.telling, report.telling_by_classifier)])
    )
    console.print(f"wrote {report.bridge_path}", markup=False)
    console.print(f"wrote {report.moves_path}", markup=False)
    console.print(f"built in {report.seconds:.0f} s", markup=False)


@models.command()
@dir_option
def show(out: Path | None) -> None:
    """Show what the built models were measured to do when they were built."""
    from personas.learned import BridgeModel, MoveClassifier, default_models_dir
    from personas.learned.bridge_model import BRIDGE_FILE
    from personas.learned.move_classifier import MOVES_FILE

    folder = out or default_models_dir()
    bridge = BridgeModel.load(folder / BRIDGE_FILE)
    moves = MoveClassifier.load(folder / MOVES_FILE)
    console = make_console()
    for title, rows in (
        ("Bridge decisions on bridge/validation.json", bridge.info.get("validation")),
        ("MathDial moves, cross-validated", [moves.info.get("cross_validation")]),
    ):
        if isinstance(rows, list) and all(isinstance(r, dict) for r in rows):
            console.print(_scores_table(title, rows))
        else:
            console.print(f"{title}: not recorded in the model file", markup=False)
