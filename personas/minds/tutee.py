"""A simulated MathDial student (a *tutee*): starts from its incorrect solution and reacts to
what each teacher turn says. A simulation, not an LLM; no move label is ever read.

**State**: the steps of the worked solution it has worked out (none at first), whether it
knows the final answer, and its *doubt* (how many times a turn has challenged its
reasoning). MathDial's LLM student "thinks their answer is correct" and corrects it only
after good reasoning questions; this model makes that concrete.

**Reading a teacher turn** (:meth:`TuteeModel.read`, text only):

- *told*: the worked-solution results the turn states (digits or number words) that the
  student does not hold, and whether it states the final answer;
- *about*: the unreached step the turn is most about, by relevance
  rel = max(share of the step's operands the turn states, share of the step's own words
  it uses), if rel ≥ ``floor``;
- *question*: the turn asks something (it has a ``?``);
- *challenge*: the turn asks for the student's reasoning (one of ``REASONING`` phrases) or
  states one of the student's own wrong results.

**Transition** (seeded; a step with probability 0 draws nothing), in order:

1. each told step is adopted with P = ``accept``; a told final answer likewise;
2. the *about* step is worked out with P = (``work_question`` if a question else
   ``work_statement``) · rel · (1 if its operands are known: givens, results it holds or
   numbers the turn states; else ``leap``);
3. a challenge adds one to doubt, and the student re-checks its work: it works out the
   first unreached step whose operands it knows with P = 1 − (1 − ``recheck``)^doubt;
4. holding the step whose result is the final answer means knowing the answer.

**Speaking** (:meth:`TuteeModel.say`): the first turn walks through its incorrect solution;
then it states each step it has just worked out (the step's arithmetic), and, once it
knows it, the answer; asked about one of its own numbers, it repeats the line of its
solution that states it; otherwise it is unsure (with doubt) or stands by its answer.

The parameters are set a priori (:class:`TuteeParams`), not fitted: MathDial's students
are an LLM role-playing a student, so fitting to them would calibrate one simulator to
another.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from fractions import Fraction

from personas.minds.tutee_problem import TuteeProblem, content_words, stated_numbers

__all__ = ["REASONING", "Cue", "TuteeModel", "TuteeParams", "TuteeState"]

REASONING = re.compile(
    r"\b(how did you|how do you know|why|explain|walk me through|talk me through|"
    r"are you sure|check)\b",
    re.IGNORECASE,
)
"""Phrases that ask the student for their reasoning."""


@dataclass(frozen=True)
class TuteeParams:
    """The tutee's parameters (a priori; see the module docs).

    Attributes:
        accept: P(adopting a stated result): told, the student writes it down.
        work_question: P(working a step out | a question fully about it).
        work_statement: The same for a statement (a hint): a question makes it work.
        leap: Factor when the step needs a result the student does not hold yet.
        recheck: P(finding the next step itself) per challenge of its reasoning.
        floor: Relevance below which a turn is about no step.
    """

    accept: float = 0.9
    work_question: float = 0.6
    work_statement: float = 0.4
    leap: float = 0.25
    recheck: float = 0.2
    floor: float = 0.2


@dataclass
class TuteeState:
    """One run's tutee: steps worked out, whether it knows the answer, doubt, and whether
    it has walked through its solution yet."""

    reached: set[int] = field(default_factory=set)
    knows_answer: bool = False
    doubt: int = 0
    walked: bool = False


@dataclass(frozen=True)
class Cue:
    """What one teacher turn says to the tutee (see the module docs)."""

    told: frozenset[int]
    tells_answer: bool
    about: int | None
    relevance: float
    question: bool
    challenge: bool
    stated: frozenset[Fraction]


def _share(part: frozenset[object], whole: frozenset[object]) -> float:
    return len(part & whole) / len(whole) if whole else 0.0


class TuteeModel:
    """The documented tutee model over one problem."""

    def __init__(self, problem: TuteeProblem, params: TuteeParams | None = None) -> None:
        self.problem = problem
        self.params = params or TuteeParams()

    def read(self, text: str, state: TuteeState) -> Cue:
        """What ``text`` says, given what the tutee holds."""
        said = stated_numbers(text)
        words = content_words(text)
        steps = self.problem.steps
        open_steps = [i for i in range(len(steps)) if i not in state.reached]
        told = frozenset(i for i in open_steps if steps[i].result in said)
        best, relevance = None, 0.0
        for i in open_steps:
            step = steps[i]
            rel = max(_share(said, step.operands), _share(words, step.words))
            if rel > relevance:
                best, relevance = i, rel
        answer = self.problem.answer
        return Cue(
            told=told,
            tells_answer=answer is not None and answer in said and not state.knows_answer,
            about=best if relevance >= self.params.floor else None,
            relevance=relevance,
            question="?" in text,
            challenge=bool(REASONING.search(text)) or bool(said & self.problem.wrong),
            stated=said,
        )

    def _ready(self, i: int, state: TuteeState, cue: Cue) -> bool:
        return self.problem.steps[i].operands <= self.problem.known(state.reached) | cue.stated

    def update(self, cue: Cue, state: TuteeState, rng: random.Random) -> list[int]:
        """Apply the transition; returns the steps newly worked out, in order."""
        p, before = self.params, set(state.reached)
        for i in sorted(cue.told):
            if rng.random() < p.accept:
                state.reached.add(i)
        if cue.tells_answer and rng.random() < p.accept:
            state.knows_answer = True
        if cue.about is not None and cue.about not in state.reached:
            work = p.work_question if cue.question else p.work_statement
            chance = work * cue.relevance * (1.0 if self._ready(cue.about, state, cue) else p.leap)
            if chance > 0 and rng.random() < chance:
                state.reached.add(cue.about)
        if cue.challenge:
            state.doubt += 1
            frontier = next(
                (
                    i
                    for i in range(len(self.problem.steps))
                    if i not in state.reached and self._ready(i, state, cue)
                ),
                None,
            )
            if frontier is not None and rng.random() < 1 - (1 - p.recheck) ** state.doubt:
                state.reached.add(frontier)
        answer = self.problem.answer
        if any(self.problem.steps[i].result == answer for i in state.reached):
            state.knows_answer = True
        return sorted(state.reached - before)

    def say(self, cue: Cue, state: TuteeState, new: list[int], *, knew: bool) -> str:
        """The tutee's reply, after :meth:`update`; ``knew`` is whether it knew the answer
        before this turn."""
        problem = self.problem
        parts = [f"{problem.steps[i].equation}." for i in new]
        if state.knows_answer:
            parts.append(f"So the answer is {problem.answer_text}.")
            return ("" if knew and not new else "Oh, I see. ") + " ".join(parts)
        if parts:
            return "Oh, I see. " + " ".join(parts)
        asked = [
            line for line in problem.solution if stated_numbers(line) & cue.stated & problem.wrong
        ]
        if asked:
            return f"I wrote: {asked[0]}"
        if state.doubt:
            return f"I'm not sure what I did wrong. I got {problem.student_answer}."
        return f"I think my answer of {problem.student_answer} is right."

    def respond(self, text: str, state: TuteeState, rng: random.Random) -> str:
        """Read one teacher turn, update, and reply; the first turn is answered with the
        walk-through of the incorrect solution."""
        if not state.walked:
            state.walked = True
            return " ".join(self.problem.solution)
        cue = self.read(text, state)
        knew = state.knows_answer
        new = self.update(cue, state, rng)
        return self.say(cue, state, new, knew=knew)
