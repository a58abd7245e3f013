"""One ``signal`` unit of a theory-of-mind sweep: what the teacher and the oracle know of one
(student, item) pair before any strategy decides (see ``agents.eval.tom``)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from agents.eval.base import EpisodeKey, EvalItem, Explanation, Payload, TeacherMind
from agents.eval.simulated import CohortStudent
from agents.eval.tom_world import ToMWorld, split_pair
from protocols import UserError

__all__ = ["signal"]


async def _scored(
    mind: TeacherMind, item: EvalItem, candidates: Sequence[Explanation], base: float
) -> list[tuple[float, Explanation]]:
    """Each candidate with its Û = P̂(correct | text) − P̂(correct)."""
    return [(await mind.predict(item, c.text) - base, c) for c in candidates]


async def signal(world: ToMWorld, key: EpisodeKey, params: Mapping[str, Any] | None) -> Payload:
    """The signals of pair ``key.item`` in seed ``key.seed``.

    The teacher's choice is the candidate with the largest Û (the first on a tie); the
    misaligned teacher's is the misleading candidate with the *lowest* Û (or, with
    ``misaligned: lowest_utility`` or for an item the misleading file does not cover, the
    teacher's own choice, given to the lowest-Û items). The teacher's confidence is
    P̂(correct | its text) for a student it has seen nothing of: a property of its
    explanation and the item, not of the student (the paper's teacher confidence is the
    teacher's own answer probability, which no student information enters either).
    """
    index, item_id = split_pair(key.item)
    if item_id not in world.by_id:
        raise UserError(f"unit {key.text()} names an item the data set does not have")
    item = world.by_id[item_id]
    student = world.student(key.seed, index)
    mind, belief = await world.mind(key.seed, index, item, params)
    base = await mind.predict(item)
    scored = await _scored(mind, item, await world.source("teacher").candidates(item), base)
    if not scored:
        raise UserError(f"the explanation source gave no candidate for {item.id!r}")
    u_hat, chosen = max(scored, key=lambda pair: pair[0])
    answer = await student.answer(item)
    p_none = await student.p_correct(item)
    fresh = world.fresh_mind(key.seed, params)
    out: Payload = {
        "answer": answer.text,
        "correct": answer.correct,
        "confidence": answer.confidence,
        "p": p_none,
        "text": chosen.text,
        "aim": chosen.aim,
        "p_hat": base,
        "u_hat": u_hat,
        "utility": await student.p_correct(item, chosen.text) - p_none,
        "teacher_confidence": await fresh.predict(item, chosen.text),
        "misconception_belief": belief,
        "profile": student.profile_name() if isinstance(student, CohortStudent) else None,
        "tiebreak": random.Random(f"tom:{key.seed}:{key.item}:tiebreak").random(),
        "misaligned_text": chosen.text,
        "misaligned_u_hat": u_hat,
        "generic_text": None,
        "generic_u_hat": None,
    }
    config = world.config
    if "misaligned" in config.strategies and config.explanations.misaligned == "misleading":
        source = world.source("misleading")
        covers = getattr(source, "covers", None)  # a file may cover only some items
        if covers is None or covers(item):
            candidates = await source.candidates(item)
            worst_u, worst = min(await _scored(mind, item, candidates, base), key=lambda p: p[0])
            out |= {"misaligned_text": worst.text, "misaligned_u_hat": worst_u}
    if config.contrast:
        candidates = await world.source("generic").candidates(item)
        best_u, best = max(await _scored(mind, item, candidates, base), key=lambda p: p[0])
        out |= {"generic_text": best.text, "generic_u_hat": best_u}
    return out
