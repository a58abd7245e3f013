"""The MathDial tutoring pieces: the simulated tutee reads what a turn says (never its
kind), the teacher policies through the Runtime, and the LM student's prompt and replies
(offline, with FunctionModel)."""

from __future__ import annotations

import asyncio
import random
from fractions import Fraction

import pytest

from agents.eval.tutoring_policies import PATIENCE, TutoringTeacherMind
from agents.eval.tutoring_run import run_seed, tutor
from agents.eval.tutoring_students import LMTutee, SimulatedTutee
from agents.models import FunctionModel
from personas.learned.mathdial import MathDialDialogue, parse_turns
from personas.minds.tutee import TuteeModel, TuteeParams, TuteeState
from personas.minds.tutee_problem import TuteeProblem
from protocols import ModelRequest

QUESTION = (
    "Tom had some marbles. He gave 4 to Ann and then found 6 more. Now he has 15 marbles. "
    "How many marbles did Tom have at first?"
)
SOLUTION = (
    "Before finding marbles Tom had 15-6=9 marbles.\n"
    "Before giving some away he had 9+4=13 marbles.\n 13"
)
WRONG = "Tom has 15 marbles.\nHe gave away 4, so 15 - 4 = 11.\nHe found 6, so 11 + 6 = 17.\n 17"
DIALOGUE = MathDialDialogue(
    qid="7",
    line=1,
    question=QUESTION,
    ground_truth=SOLUTION,
    student_incorrect_solution=WRONG,
    student_profile="Kayla is a 7th grade student.",
    teacher_described_confusion="",
    turns=parse_turns("Teacher: (generic)Hi Kayla|EOM|Student: I got 17."),
)
WALK = "Tom has 15 marbles. He gave away 4, so 15 - 4 = 11. He found 6, so 11 + 6 = 17. 17"
FOCUS = "Let's go step by step. Before finding marbles Tom had 15-6 = ?"


def model(**params: float) -> TuteeModel:
    return TuteeModel(TuteeProblem.of(QUESTION, SOLUTION, WRONG), TuteeParams(**params))


def walked() -> TuteeState:
    return TuteeState(walked=True)


def test_the_problem_is_read_from_the_solutions_text() -> None:
    problem = TuteeProblem.of(QUESTION, SOLUTION, WRONG)
    assert [s.equation for s in problem.steps] == ["15-6=9", "9+4=13"]
    assert [sorted(s.operands) for s in problem.steps] == [[6, 15], [4, 9]]
    assert [s.result for s in problem.steps] == [9, 13]
    assert problem.steps[0].words == {"finding", "tom"}  # "marble" is in every step
    assert (problem.answer, problem.answer_text, problem.student_answer) == (
        Fraction(13),
        "13",
        "17",
    )
    assert problem.givens == {4, 6, 15}
    assert problem.wrong == {11, 17}


def test_a_told_step_is_adopted_and_the_told_answer_is_stated() -> None:
    tutee, state, rng = model(accept=1.0), walked(), random.Random(0)
    first = tutee.respond("Before finding marbles Tom had 15-6=9 marbles.", state, rng)
    assert first == "Oh, I see. 15-6=9."
    second = tutee.respond("Then he had 9+4=13 before giving some away.", state, rng)
    assert second == "Oh, I see. 9+4=13. So the answer is 13."
    assert (state.reached, state.knows_answer) == ({0, 1}, True)
    assert tutee.respond("Good.", state, rng) == "So the answer is 13."


def test_a_turn_that_says_nothing_changes_nothing_and_draws_nothing() -> None:
    tutee, state, rng = model(), walked(), random.Random(3)
    before = rng.getstate()
    assert tutee.respond("Good morning!", state, rng) == "I think my answer of 17 is right."
    assert rng.getstate() == before
    assert state == walked()


def test_the_first_turn_is_answered_with_the_incorrect_solution() -> None:
    state = TuteeState()
    reply = model().respond("Hi! Walk me through your solution.", state, random.Random(0))
    assert reply == WALK
    assert state == walked()  # the opening neither challenges nor teaches


def test_a_question_about_the_students_wrong_number_is_a_challenge() -> None:
    tutee, state = model(recheck=0.0), walked()
    reply = tutee.respond("How did you get 11?", state, random.Random(0))
    assert reply == "I wrote: He gave away 4, so 15 - 4 = 11."
    assert state.doubt == 1 and not state.reached
    assert tutee.respond("Why?", state, random.Random(0)).startswith("I'm not sure")


@pytest.mark.parametrize(("text", "expected"), [(FOCUS, 0.6), (FOCUS.rstrip(" =?") + ".", 0.4)])
def test_a_turn_about_a_step_works_it_out_at_the_documented_rate(
    text: str, expected: float
) -> None:
    tutee = model(recheck=0.0)  # a focus turn states both operands: relevance 1, ready
    cue = tutee.read(text, walked())
    assert (cue.about, cue.relevance, cue.challenge) == (0, 1.0, False)
    hits = 0
    for seed in range(3000):
        state = walked()
        tutee.respond(text, state, random.Random(seed))
        hits += state.reached == {0}
    assert hits / 3000 == pytest.approx(expected, abs=0.03)


def test_a_step_that_needs_an_unheld_result_is_a_leap() -> None:
    tutee = model(recheck=0.0, leap=0.25)
    text = "What did he have before giving some away?"  # step 2's words, not its 9
    cue = tutee.read(text, walked())
    assert (cue.about, cue.relevance) == (1, 1.0)
    hits = 0
    for seed in range(3000):
        state = walked()
        tutee.respond(text, state, random.Random(seed))
        hits += state.reached == {1}
    assert hits / 3000 == pytest.approx(0.6 * 0.25, abs=0.03)


def test_the_kind_of_message_is_never_read() -> None:
    from protocols import Explanation, Hint, Question

    async def reply(message: object) -> list[str]:
        tutee = SimulatedTutee("student", DIALOGUE, TuteeParams(accept=1.0))

        class Ctx:
            rng = random.Random(1)
            state = walked()

        out = await tutee.handle(message, Ctx())  # type: ignore[arg-type]
        return [m.text for m in out]  # type: ignore[attr-defined]

    text = "Before finding marbles Tom had 15-6=9 marbles."
    replies = [
        asyncio.run(reply(cls(text=text, sender="teacher")))
        for cls in (Question, Hint, Explanation)
    ]
    assert replies == [["Oh, I see. 15-6=9."]] * 3


def test_telling_first_through_the_runtime() -> None:
    student = SimulatedTutee("student", DIALOGUE, TuteeParams(accept=1.0))
    done = asyncio.run(tutor(DIALOGUE, "telling_first", student, seed=run_seed(0, "x")))
    assert done.utterances == (
        "Teacher: Hi Kayla! Could you walk me through your solution?",
        f"Student: {WALK}",
        "Teacher: Before finding marbles Tom had 15-6=9 marbles.",
        "Student: Oh, I see. 15-6=9.",
        "Teacher: Before giving some away he had 9+4=13 marbles.",
        "Student: Oh, I see. 9+4=13. So the answer is 13.",
    )
    assert done.decided == ("telling", "telling")
    assert done.success == (False,) + (True,) * 6  # the student says 13 in utterance 2
    assert done.telling == (False,) + (True,) * 6  # the teacher said it in utterance 2 first
    assert done.reason == "completed"


def test_probing_first_probes_then_focuses_and_tells_only_when_stuck() -> None:
    params = TuteeParams(work_question=0.0, work_statement=0.0, recheck=0.0, accept=1.0)
    student = SimulatedTutee("student", DIALOGUE, params)  # learns only when told
    done = asyncio.run(tutor(DIALOGUE, "probing_first", student, seed=5, rounds=8))
    teacher = [u for u in done.utterances if u.startswith("Teacher:")]
    assert teacher[1] == "Teacher: How did you get 11? Can you explain that step?"
    assert PATIENCE == 2
    assert teacher[2] == f"Teacher: {FOCUS}"
    assert teacher[3] == "Teacher: Before finding marbles Tom had 15-6=9 marbles."
    assert done.decided == ("probing", "focus", "telling", "focus", "focus", "telling")
    assert done.utterances[-1] == "Student: Oh, I see. 9+4=13. So the answer is 13."
    assert done.success == (False,) * 5 + (True,) * 2  # the student's utterance 6
    assert done.telling == (False,) * 5 + (True,) * 2  # the teacher's utterance 6 came first


def test_runs_are_reproducible_by_seed() -> None:
    def run(seed: int) -> tuple[str, ...]:
        student = SimulatedTutee("student", DIALOGUE)
        return asyncio.run(tutor(DIALOGUE, "probing_first", student, seed=seed)).utterances

    assert run(11) == run(11)
    assert len({run(s) for s in range(12)}) > 1  # the seed matters


def test_a_learned_policy_needs_its_model() -> None:
    with pytest.raises(ValueError, match="learned model"):
        TutoringTeacherMind(DIALOGUE, "bridge")


def test_the_lm_student_gets_mathdials_student_prompt() -> None:
    def reply(request: ModelRequest) -> str:
        prompt = request.messages[-1].content
        if "9+4=13" in prompt:
            return "Kayla: Oh! 9 + 4 = 13.<EOM>"
        return "Student: So 15 - 6 = 9.\n<EOM>" if "15-6=9" in prompt else WALK

    client = FunctionModel(reply)
    student = LMTutee("student", DIALOGUE, client)
    done = asyncio.run(tutor(DIALOGUE, "telling_first", student, seed=0))
    assert done.utterances[-1] == "Student: Oh! 9 + 4 = 13."
    assert done.success == (False,) + (True,) * 6
    request = client.calls[-1]
    assert (request.stop, request.temperature, request.max_tokens) == (
        ("Teacher:", "teacher:"),
        0.0,
        512,
    )
    assert request.messages[-1].content == (
        "Student Persona: Kayla is a 7th grade student.\n\n"
        f"Math problem: {QUESTION}\n\n"
        f"Student solution: {WRONG}\n\n"
        "Context: Kayla believes this solution is correct. Kayla understands the problem and "
        "corrects the solution only after the teacher has asked several good questions about "
        "the reasoning. Kayla uses a calculator and so makes no arithmetic errors. End each "
        "student message with <EOM>.\n\n"
        "Teacher: Hi Kayla! Could you walk me through your solution?<EOM>\n\n"
        f"Student: {WALK}<EOM>\n\n"
        "Teacher: Before finding marbles Tom had 15-6=9 marbles.<EOM>\n\n"
        "Student: So 15 - 6 = 9.<EOM>\n\n"
        "Teacher: Before giving some away he had 9+4=13 marbles.\n\n"
        "Student:\n"
    )
