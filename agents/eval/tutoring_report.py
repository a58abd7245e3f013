"""What a tutoring sweep reports: success@k and telling@k per policy with 95% intervals,
the move mix per policy, and the findings text.

Intervals: a dialogue's value at k is the mean over its seeds (0 or 1 for the human row),
and the interval is the Student-t 95% interval over dialogues, so it covers the sampling
of problems as well as the simulation's noise (``scipy.stats.t``), clipped to [0, 1]
(the values are shares).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from agents.eval.base import EpisodeKey, Payload, StudentKind
from personas.moves import TeacherMove

__all__ = ["TutoringPoint", "move_mix", "tutoring_curves", "tutoring_findings"]

METRICS = ("success", "telling")
SHOWN_K = (1, 3, 5, 7)


@dataclass(frozen=True)
class TutoringPoint:
    """One point of a success@k or telling@k curve.

    Attributes:
        strategy: The teacher policy (``human`` for the reference row).
        metric: ``success`` or ``telling``.
        k: The k of the metric.
        mean: The share of dialogues (averaged over seeds).
        low: The 95% interval's lower end.
        high: Its upper end.
        n: How many dialogues.
    """

    strategy: str
    metric: str
    k: int
    mean: float
    low: float
    high: float
    n: int


def _interval(values: list[float]) -> tuple[float, float, float]:
    data = np.asarray(values, dtype=float)
    mean = float(data.mean())
    if len(data) < 2 or float(data.std()) == 0.0:
        return mean, mean, mean
    sem = float(stats.sem(data))
    low, high = stats.t.interval(0.95, len(data) - 1, loc=mean, scale=sem)
    return mean, max(0.0, float(low)), min(1.0, float(high))


def tutoring_curves(results: Mapping[EpisodeKey, Payload]) -> list[TutoringPoint]:
    """The curves of every policy in ``results``, sorted by policy, metric and k."""
    per: dict[tuple[str, str], list[Payload]] = defaultdict(list)
    for key, payload in results.items():
        if key.kind in ("dialogue", "human"):
            per[(key.strategy, key.item)].append(payload)
    by_policy: dict[str, list[list[Payload]]] = defaultdict(list)
    for (policy, _), payloads in sorted(per.items()):
        by_policy[policy].append(payloads)
    points = []
    for policy, dialogues in sorted(by_policy.items()):
        for metric in METRICS:
            width = min(len(p[metric]) for d in dialogues for p in d)
            for k in range(1, width + 1):
                values = [float(np.mean([p[metric][k - 1] for p in d])) for d in dialogues]
                mean, low, high = _interval(values)
                points.append(TutoringPoint(policy, metric, k, mean, low, high, len(dialogues)))
    return points


def move_mix(
    results: Mapping[EpisodeKey, Payload], field: str = "moves"
) -> dict[str, dict[str, float]]:
    """Per policy, the share of its teacher turns given each move (``"turns"``: how many
    turns): by the move classifier (``field="moves"``, every turn), or as the policy decided
    it (``"decided"``: the turns after the opening; the human row: the annotated moves)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, payload in results.items():
        for move in payload.get(field, []):
            counts[key.strategy][move] += 1
    mix = {}
    for policy, moves in sorted(counts.items()):
        total = sum(moves.values())
        mix[policy] = {m.value: moves.get(m.value, 0) / total for m in TeacherMove}
        mix[policy]["turns"] = float(total)
    return mix


def _cell(point: TutoringPoint | None) -> str:
    if point is None:
        return "–"
    return f"{point.mean:.3f} [{point.low:.2f}, {point.high:.2f}]"


def tutoring_findings(results: Mapping[EpisodeKey, Payload], *, student_kind: StudentKind) -> str:
    """Markdown: the metrics at k = 1, 3, 5, 7 per policy, the move mix, and what kind of
    student produced them."""
    points = {(p.strategy, p.metric, p.k): p for p in tutoring_curves(results)}
    policies = sorted({p[0] for p in points}, key=lambda s: (s == "human", s))
    who = (
        "simulated students (`personas.minds.tutee`): these numbers describe the simulation"
        if student_kind == "simulated"
        else "LM students (MathDial's student prompt)"
    )
    lines = [f"Students: {who}. The `human` row is the dataset's own conversations.", ""]
    head = [f"{m}@{k}" for m in METRICS for k in SHOWN_K]
    lines += ["| policy | dialogues | " + " | ".join(head) + " |", "|---" * (len(head) + 2) + "|"]
    for policy in policies:
        n = next(p.n for p in points.values() if p.strategy == policy)
        cells = [_cell(points.get((policy, m, k))) for m in METRICS for k in SHOWN_K]
        lines.append(f"| {policy} | {n} | " + " | ".join(cells) + " |")
    walk: dict[str, list[bool]] = defaultdict(list)
    for key, payload in results.items():
        walk[key.strategy].append(bool(payload.get("walkthrough_states_answer")))
    shares = ", ".join(f"{p} {np.mean(walk[p]):.3f}" for p in policies)
    lines += [
        "",
        "Share of dialogues whose student utterance 0 (the walk-through of the incorrect "
        f"solution) already states the ground-truth number (success at every k): {shares}.",
    ]
    for field, what in (
        ("moves", "the move classifier's label of every teacher turn"),
        ("decided", "as the policy decided it (after the opening; human: annotated)"),
    ):
        lines += ["", f"Move mix, {what}:", ""]
        lines += ["| policy | turns | " + " | ".join(m.value for m in TeacherMove) + " |"]
        lines.append("|---" * (len(TeacherMove) + 2) + "|")
        for policy, mix in move_mix(results, field).items():
            row = " | ".join(f"{mix[m.value]:.2f}" for m in TeacherMove)
            lines.append(f"| {policy} | {int(mix['turns'])} | {row} |")
    return "\n".join(lines) + "\n"
