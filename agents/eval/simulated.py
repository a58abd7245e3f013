"""Simulated students and the estimating teacher mind, as the workbench's ``Student`` and
``TeacherMind`` (everything here is a SIMULATION; its figures describe the model of
``docs/simulation.md``, never language models).

A cohort student is a ``personas.minds.SimulatedLearner`` drawn from a seed
(``population.new_learner``: a profile and the misconceptions it holds). Every call starts
from that initial state, so calls are pure: the student studies the ``context`` demos, is
posed the item, reads the explanation (its *text*, through the ``ReadingModel``) and
answers, with randomness seeded by (seed, student, occasion, item). ``p_correct`` is the
exact expectation of the same process, computed in closed form (each skill's known flag
and each misconception's active flag evolve independently, as the learner samples them).

The teacher's mind is ``personas.minds.EstimatingMentalModel``: population parameters
fitted on earlier students' observed answers (``fit_population``), never a learner's true
profile, updated from this student's answers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agents.eval.base import Answer, Demo, EvalItem, StudentKind
from knowledge_graph import GraphStore
from personas.minds.belief import MentalParams, same_answer
from personas.minds.learner import PROFILES, LearnerItem, LearnerProfile, SimulatedLearner
from personas.minds.mental_fit import fit_mental_params
from personas.minds.mental_model import EstimatingMentalModel, Reader
from personas.minds.population import taught_population
from protocols import UserError

__all__ = ["CohortStudent", "EstimatingTeacherMind", "fit_population"]


@dataclass
class CohortStudent:
    """Student ``index`` of the cohort of ``seed``: a simulated learner (implements
    ``agents.eval.Student``).

    Args:
        items: The learner's items (``personas.learner_items(kg)``), keyed by item id.
        reader: Reads explanation texts (``ReadingModel(kg)``; share one across students).
        seed: The sweep seed.
        index: The student's place in the cohort.
        profiles: The profiles it is drawn from (uniformly).
        share: P(it starts with each misconception the items exhibit).
        occasion: Names the random stream of its answers: the same student on another
            occasion (``"pretest"``) has the same knowledge and fresh draws.
    """

    items: Mapping[str, LearnerItem]
    reader: Reader
    seed: int
    index: int
    profiles: tuple[LearnerProfile, ...]
    share: float
    occasion: str = "test"
    kind: StudentKind = field(default="simulated", init=False)

    def initial(self) -> SimulatedLearner:
        """The learner as it is before any teaching (the same on every call)."""
        from personas.minds.population import new_learner

        rng = random.Random(f"tom:{self.seed}:{self.index}")
        return new_learner(self.items, rng, self.profiles, self.share)

    def profile_name(self) -> str | None:
        """The name of its profile in ``personas.minds.PROFILES`` (for reports only: the
        teacher never sees it)."""
        profile = self.initial().profile
        return next((n for n, p in PROFILES.items() if p == profile), None)

    def on(self, occasion: str) -> CohortStudent:
        """The same student on another occasion (same knowledge, its own draws)."""
        return CohortStudent(
            self.items, self.reader, self.seed, self.index, self.profiles, self.share, occasion
        )

    def _item(self, item: EvalItem) -> LearnerItem:
        if item.id not in self.items:
            raise UserError(
                f"item {item.id!r} is not an Item node of the data set's knowledge graph "
                "that REQUIRES a skill and has an answer; the simulated students cannot "
                "answer it"
            )
        return self.items[item.id]

    def _taught(
        self, item: EvalItem, explanation: str | None, context: Sequence[Demo]
    ) -> SimulatedLearner:
        learner = self.initial()
        learner.rng = random.Random(f"tom:{self.seed}:{self.index}:{self.occasion}:{item.id}")
        for demo in [*context, Demo(item, explanation or "")]:
            if learner.current != demo.item.id:  # the item is posed
                learner.current, learner.recall = demo.item.id, None
            if demo.explanation:
                learner.study(self.reader.read(demo.explanation))
        return learner

    async def answer(
        self, item: EvalItem, explanation: str | None = None, *, context: Sequence[Demo] = ()
    ) -> Answer:
        """Study ``context``, be posed ``item``, read ``explanation``, answer."""
        response = self._taught(item, explanation, context).answer(self._item(item))
        return Answer(response.text, response.correct, response.confidence)

    async def p_correct(
        self, item: EvalItem, explanation: str | None = None, *, context: Sequence[Demo] = ()
    ) -> float:
        """The exact P(correct) of ``answer`` with the same arguments."""
        target = self._item(item)
        learner = self.initial()
        skill, prof = target.skill, learner.profile
        known = float(learner.known[skill])
        on = {
            m: float(m in learner.active)
            for m, s in sorted(learner.misconception_skill.items())
            if s == skill
        }
        current: str | None = None
        recall: str | None = None
        for demo in [*context, Demo(item, explanation or "")]:
            if current != demo.item.id:
                current, recall = demo.item.id, None
            if not demo.explanation:
                continue
            reading = self.reader.read(demo.explanation)
            for m, p in on.items():
                removed, implant = reading.remedies.get(m, 0.0), reading.implants.get(m, 0.0)
                on[m] = p * (1 - removed + removed * implant) + (1 - p) * implant
            known += (1 - known) * prof.learn * reading.teaches.get(skill, 0.0)
            if current in reading.reveals:
                recall = reading.reveals[current]
        usable = known
        for p in on.values():
            usable *= 1 - p
        by_state = usable * (1 - prof.slip) + (1 - usable) * prof.guess
        if recall is None:
            return by_state
        return (1 - prof.slip) * same_answer(recall, target.answer) + prof.slip * by_state


class EstimatingTeacherMind:
    """The teacher's estimating mental model of one student (implements
    ``agents.eval.TeacherMind``): it reads explanation texts, never their labels.

    Args:
        model: A fresh ``EstimatingMentalModel`` with the fitted population parameters.
    """

    def __init__(self, model: EstimatingMentalModel) -> None:
        self.model = model

    async def observe(self, item: EvalItem, answer: Answer) -> None:
        """Bayes' rule on the student's answer and reported confidence."""
        self.model.observe(item.id, answer.text, answer.confidence)

    async def predict(self, item: EvalItem, explanation: str | None = None) -> float:
        """P̂(correct), now or right after the student reads ``explanation``."""
        return self.model.predict(item.id, explanation)

    def misconception_belief(self, item: EvalItem) -> float:
        """The largest P̂(active) of the misconceptions ``item`` exhibits (0 if none)."""
        beliefs = self.model.misconceptions()
        exhibited = self.model.items[item.id].misconception_answers
        return max((beliefs[m] for m in exhibited), default=0.0)


def fit_population(
    kg: GraphStore,
    items: Mapping[str, LearnerItem],
    reader: Reader,
    *,
    n: int,
    seed: int,
    profiles: Sequence[LearnerProfile],
    share: float,
) -> MentalParams:
    """The teacher's population parameters: maximum likelihood on what the teacher
    observed of ``n`` earlier simulated students (``taught_population`` with its own seed:
    these are never the students of the sweep), never their true profiles."""
    earlier = taught_population(kg, items, n=n, seed=seed, profiles=profiles, share=share)
    return fit_mental_params([s.history for s in earlier], items, reader)
