"""Fitting the teacher's mental model from what it observed: maximum likelihood of the
answers (and reported confidences) of earlier students, given the explanations they
read, under the hidden-state model of ``belief.SkillSpace``. The likelihood is computed
by the forward algorithm, vectorised over students, and maximised with L-BFGS-B
(scipy). Nothing here reads a learner's true parameters: only ``Seen`` and ``Told``
events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from personas.minds.belief import (
    ConfidenceOffset,
    MentalParams,
    SkillSpace,
    answer_index,
    same_answer,
    skill_spaces,
)
from personas.minds.learner import LearnerItem
from personas.minds.mental_model import Reader, Seen, Told
from personas.minds.reading import Reading
from protocols import UserError

__all__ = ["History", "fit_mental_params", "log_likelihood"]

History = Sequence[Seen | Told]

_EPS = 1e-3

#: Bounds of the search. slip and guess stay below 0.5, the usual BKT constraint that
#: keeps "known" and "unknown" from swapping meaning; the rest only avoid log(0).
#: ``confidence_mean`` is not searched: it is the sample mean of reported confidences.
BOUNDS: dict[str, tuple[float, float]] = {
    f.name: (_EPS, 1 - _EPS) for f in fields(MentalParams) if f.name != "confidence_mean"
} | {"slip": (_EPS, 0.5), "guess": (_EPS, 0.5), "confidence_sd": (0.02, 1.0)}

_ANSWER, _READ = 1, 2


@dataclass(frozen=True)
class _Step:
    """One step of the chains: which chains read which text, which answer what."""

    readers: NDArray[np.int64]
    reading: NDArray[np.int64]
    answerers: NDArray[np.int64]
    item: NDArray[np.int64]
    row: NDArray[np.int64]
    confidence: NDArray[np.float64]
    told: NDArray[np.bool_]
    match: NDArray[np.bool_]


@dataclass(frozen=True)
class _Chains:
    """Every (student, skill) chain, stepped together. Skill state spaces are padded to
    one size with unreachable states, so one array holds every chain's belief."""

    spaces: list[SkillSpace]
    items: list[LearnerItem]
    skill: NDArray[np.int64]  # chain -> index into spaces
    steps: list[_Step]
    used: list[tuple[int, int]]  # (space, reading) pairs that occur

    @property
    def size(self) -> int:
        return max(s.size for s in self.spaces)


_Row = tuple[int, int, int, int, float, bool, bool]


def _encode(
    histories: Sequence[History],
    mean: float,
    items: Mapping[str, LearnerItem],
    reader: Reader,
    cache: list[Reading],
) -> _Chains:
    """Every (student, skill) chain's events as rows (kind, item, answer row, reading,
    calibrated confidence, revealed?, repeats the revealed answer?). A text that cannot
    change a skill is left out of that skill's chain."""
    spaces = list(skill_spaces(items).values())
    at = {space.skill: k for k, space in enumerate(spaces)}
    ordered = [items[k] for k in sorted(items)]
    index = {item.id: k for k, item in enumerate(ordered)}
    readings: dict[str, int] = {}
    chains: list[list[_Row]] = []
    for h, history in enumerate(histories):
        mine: list[list[_Row]] = [[] for _ in spaces]
        current: str | None = None
        recall: str | None = None
        offset = ConfidenceOffset(mean)
        for event in history:
            if isinstance(event, Told):
                if event.text not in readings:
                    readings[event.text] = len(cache)
                    cache.append(reader.read(event.text))
                r = readings[event.text]
                if current is not None and current in cache[r].reveals:
                    recall = cache[r].reveals[current]
                for k, space in enumerate(spaces):
                    if space.touched_by(cache[r]):
                        mine[k].append((_READ, 0, 0, r, np.nan, False, False))
                continue
            if event.item not in items:
                raise UserError(f"history {h} has an answer to unknown item {event.item!r}")
            item = items[event.item]
            if event.item != current:
                current, recall = event.item, None
            calibrated = offset.calibrate(event.confidence)
            mine[at[item.skill]].append(
                (
                    _ANSWER,
                    index[item.id],
                    answer_index(spaces[at[item.skill]].answers(item), event.answer),
                    0,
                    np.nan if calibrated is None else calibrated,
                    recall is not None,
                    recall is not None and same_answer(recall, event.answer),
                )
            )
        chains.extend(mine)
    skill = np.tile(np.arange(len(spaces)), len(histories))
    return _Chains(spaces, ordered, skill, _steps(chains), _used(chains, skill))


def _used(chains: list[list[_Row]], skill: NDArray[np.int64]) -> list[tuple[int, int]]:
    return sorted(
        {
            (int(skill[c]), row[3])
            for c, rows in enumerate(chains)
            for row in rows
            if row[0] == _READ
        }
    )


def _steps(chains: list[list[_Row]]) -> list[_Step]:
    steps = []
    for t in range(max((len(r) for r in chains), default=0)):
        reads = [(c, r[t]) for c, r in enumerate(chains) if len(r) > t and r[t][0] == _READ]
        seen = [(c, r[t]) for c, r in enumerate(chains) if len(r) > t and r[t][0] == _ANSWER]

        def col(which: list[tuple[int, _Row]], f: int, dtype: type) -> NDArray[Any]:
            return np.array([row[f] for _, row in which], dtype=dtype)

        steps.append(
            _Step(
                np.array([c for c, _ in reads], dtype=np.int64),
                col(reads, 3, np.int64),
                np.array([c for c, _ in seen], dtype=np.int64),
                col(seen, 1, np.int64),
                col(seen, 2, np.int64),
                col(seen, 4, np.float64),
                col(seen, 5, np.bool_),
                col(seen, 6, np.bool_),
            )
        )
    return steps


def _arrays(
    chains: _Chains, p: MentalParams, readings: list[Reading]
) -> tuple[NDArray[np.float64], ...]:
    """The model's arrays at ``p``, padded to one state-space size: initial belief and
    confidence means per space, transitions per (space, reading), answer tables per item."""
    n = chains.size
    initial = np.zeros((len(chains.spaces), n))
    means = np.zeros((len(chains.spaces), n))
    for k, space in enumerate(chains.spaces):
        initial[k, : space.size] = space.initial(p)
        means[k, : space.size] = np.where(space.usable, p.confidence_known, p.confidence_unknown)
    trans = np.zeros((len(chains.spaces), max(1, len(readings)), n, n))
    for k, r in chains.used:
        size = chains.spaces[k].size
        trans[k, r, :size, :size] = chains.spaces[k].transition(readings[r], p)
    at = {space.skill: k for k, space in enumerate(chains.spaces)}
    tables = [chains.spaces[at[i.skill]].answer_table(i, p)[1] for i in chains.items]
    table = np.zeros((len(tables), max(t.shape[0] for t in tables), n))
    for k, t in enumerate(tables):
        table[k, : t.shape[0], : t.shape[1]] = t
    return initial, means, trans, table


def _chains_ll(chains: _Chains, p: MentalParams, readings: list[Reading]) -> float:
    """The forward algorithm over every chain at once: log P(every answer)."""
    initial, means, trans, table = _arrays(chains, p, readings)
    alpha = initial[chains.skill]
    total = 0.0
    for step in chains.steps:
        if len(step.readers):
            who = step.readers
            moves = trans[chains.skill[who], step.reading]
            alpha[who] = np.einsum("sn,snm->sm", alpha[who], moves)
        if not len(step.answerers):
            continue
        who = step.answerers
        lik = table[step.item, step.row]
        repeat = p.repeat * step.match[:, None] + (1 - p.repeat) * lik
        lik = np.where(step.told[:, None], repeat, lik)
        z = (step.confidence[:, None] - means[chains.skill[who]]) / p.confidence_sd
        dens = np.exp(-0.5 * z * z) / p.confidence_sd
        dens = np.where(np.isnan(step.confidence)[:, None], 1.0, dens)
        new = alpha[who] * lik * dens
        norm = np.maximum(new.sum(axis=1), 1e-300)
        total += float(np.log(norm).sum())
        alpha[who] = new / norm[:, None]
    return total


def log_likelihood(
    params: MentalParams,
    histories: Sequence[History],
    items: Mapping[str, LearnerItem],
    reader: Reader,
) -> float:
    """log P(every observed answer and confidence | params, the explanations read)."""
    cache: list[Reading] = []
    chains = _encode(histories, params.confidence_mean, items, reader, cache)
    return _chains_ll(chains, params, cache)


def fit_mental_params(
    histories: Sequence[History],
    items: Mapping[str, LearnerItem],
    reader: Reader,
    start: MentalParams | None = None,
) -> MentalParams:
    """Maximum-likelihood population parameters from observed histories.

    Args:
        histories: Per earlier student, what the teacher saw, in order: ``Seen`` answers
            and the ``Told`` explanations between them.
        items: The items (skill, right answer, EXHIBITS wrong answers).
        reader: Judges what each explanation text does (``ReadingModel``).
        start: Where the search starts (default ``MentalParams()``).

    Returns:
        The fitted parameters. A parameter the data cannot inform (``learn`` when no
        explanation was given, ``repeat`` when none revealed an answer) stays at ``start``.
    """
    if not any(isinstance(e, Seen) for h in histories for e in h):
        raise UserError("fit_mental_params needs at least one observed answer (Seen)")
    reported = [e.confidence for h in histories for e in h if isinstance(e, Seen)]
    known = [c for c in reported if c is not None]
    base = replace(start or MentalParams(), confidence_mean=float(np.mean(known)) if known else 0.5)
    cache: list[Reading] = []
    chains = _encode(histories, base.confidence_mean, items, reader, cache)
    names = [n for n in (f.name for f in fields(MentalParams)) if n in BOUNDS]
    x0 = np.array([getattr(base, n) for n in names], dtype=np.float64)

    def params(x: NDArray[np.float64]) -> MentalParams:
        return replace(base, **dict(zip(names, (float(v) for v in x), strict=True)))

    def loss(x: NDArray[np.float64]) -> float:
        return -_chains_ll(chains, params(x), cache)

    result = minimize(loss, x0, method="L-BFGS-B", bounds=[BOUNDS[n] for n in names])
    return params(result.x)
