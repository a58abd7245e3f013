"""success@k and telling@k, checked against conversations worked out by hand, with the
edge cases of MathDial's evaluate.py: commas, decimals, signs, no match, non-numeric
answers, speaker prefixes. And the human reference row on the real data."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from agents.eval.mathdial_metrics import (
    at_k,
    evaluate_at_k,
    find_numbers,
    first_mention,
    get_match,
    human_utterances,
    numerical_answer,
    utterance,
)
from personas.learned.mathdial import MathDialDialogue, load_mathdial, parse_turns
from tests.conftest import require

# The student reaches 6 on its third utterance (index 2); the teacher confirms it after.
FOUND = [
    "Teacher: Hi Sam! Can you walk me through your solution?",
    "Student: I added 2 and 3 and got 5.",
    "Teacher: Why did you add 2?",
    "Student: Sorry, I think I made a mistake.",
    "Teacher: What do you get if you add 2 and 4?",
    "Student: 2 + 4 = 6",
    "Teacher: Yes, it is 6.",
]
# The teacher states 6 (its utterance 1) before the student repeats it (utterance 2).
TOLD = [
    "Teacher: Walk me through it.",
    "Student: I got 5.",
    "Teacher: The answer is 6.",
    "Student: Okay.",
    "Teacher: Do you see why?",
    "Student: Yes, it is 6.",
]


def test_the_student_finding_the_answer_is_success_without_telling() -> None:
    assert first_mention("Student", FOUND, "6") == 2
    assert first_mention("Teacher", FOUND, "6") == 3
    assert [evaluate_at_k(FOUND, "6", k) for k in (1, 2, 3)] == [
        (False, False),
        (True, False),
        (True, False),
    ]


def test_the_teacher_stating_it_first_is_telling() -> None:
    assert first_mention("Teacher", TOLD, "6") == 1
    assert [evaluate_at_k(TOLD, "6", k) for k in (1, 2, 3)] == [
        (False, True),
        (True, True),
        (True, True),
    ]
    assert at_k(TOLD, "6", max_k=3) == ([False, True, True], [True, True, True])


def test_same_turn_mention_counts_as_telling() -> None:
    # the teacher's utterance i comes before the student's utterance i
    turns = ["Teacher: Is it 7?", "Student: Yes, 7."]
    assert evaluate_at_k(turns, "7", 1) == (True, True)


def test_no_match_is_neither_success_nor_telling() -> None:
    assert first_mention("Student", FOUND, "42") == math.inf
    assert at_k(FOUND, "42") == ([False] * 7, [False] * 7)
    # the teacher tells, the student never says it: telling without success
    only_teacher = ["Teacher: It is 42.", "Student: I don't get it."]
    assert evaluate_at_k(only_teacher, "42", 1) == (False, True)


def test_commas_are_removed_from_the_text_and_the_answer() -> None:
    assert find_numbers("It costs $2,520,000 in total, or 1,000 a day.") == ["2520000", "1000"]
    assert get_match("So the farm made $2,520,000.", "2,520,000")
    assert get_match("That is 1,000 spoons.", "1000")
    assert not get_match("That is 1 000 spoons.", "1000")  # a space splits the number


def test_decimals_match_within_tolerance_and_dots_are_read_as_evaluate_py_reads_them() -> None:
    assert get_match("Each one costs $2.50.", "2.5")
    assert get_match("12.0 apples", "12")
    assert get_match("about 0.30000000001", "0.3")
    assert not get_match("about 0.3001", "0.3")
    assert find_numbers("It is .5 of it.") == ["5"]  # no leading digit: the 5 alone
    assert not get_match("It is .5 of it.", "0.5")
    assert get_match("It is .5 of it.", "5")
    assert not get_match("0.5 of the cake", "5")
    assert get_match("The change is -7 degrees.", "7")  # the sign is not read


def test_an_answer_that_is_not_a_number_must_equal_a_number_string() -> None:
    assert not get_match("It costs $18.", "$18")
    assert get_match("It is 18.", "18")


def test_only_the_roles_prefix_counts_and_spaces_are_stripped() -> None:
    turns = ["Teacher: Hi.", "Kayla: It is 6.", "  Student: It is 6.\n"]
    assert first_mention("Student", turns, "6") == 0  # Kayla's turn is no Student's
    assert first_mention("Teacher", ["teacher: 6", "Teacher: 6"], "6") == 0


def test_the_ground_truth_number_is_the_last_line() -> None:
    assert numerical_answer("12+3=15 spoons.\n15-5=10 spoons.\n 10") == "10"
    assert numerical_answer("100*25200=2,520,000\n 2,520,000") == "2,520,000"
    assert numerical_answer("3*4=12\\n 12") == "12"  # a literal backslash-n, as in evaluate.py


def test_human_conversations_become_role_utterances() -> None:
    conversation = (
        "Teacher: (probing)Hi Mariana, how did you get 4?|EOM|Mariana: I did 9 - 5 = 4."
        "|EOM|Teacher: (telling)You need 12 + 3 = 15.|EOM|Student: Oh, 15 - 5 = 10.\nSo 10."
    )
    dialogue = MathDialDialogue(
        qid="1",
        line=1,
        question="q",
        ground_truth="12+3=15\n15-5=10\n 10",
        student_incorrect_solution="9-5=4\n 4",
        student_profile="Mariana is a student.",
        teacher_described_confusion="",
        turns=parse_turns(conversation),
    )
    assert human_utterances(dialogue) == [
        "Teacher: Hi Mariana, how did you get 4?",
        "Student: I did 9 - 5 = 4.",
        "Teacher: You need 12 + 3 = 15.",
        "Student: Oh, 15 - 5 = 10.\\nSo 10.",
    ]
    assert utterance("Student", "a\nb") == "Student: a\\nb"
    # the student says 10 in its second utterance (index 1): success@1
    assert at_k(human_utterances(dialogue), "10", max_k=2) == ([True, True], [False, False])


DATA = Path(os.environ.get("LYCEUM_DATA_DIR", "../shared/data"))


def test_the_human_reference_row_on_mathdial_dev() -> None:
    require((DATA / "mathdial" / "dev.jsonl").exists(), f"no mathdial/dev.jsonl in {DATA}")
    dialogues = load_mathdial(DATA)
    rows = [at_k(human_utterances(d), numerical_answer(d.ground_truth)) for d in dialogues]
    success = np.mean([s for s, _ in rows], axis=0)
    telling = np.mean([t for _, t in rows], axis=0)
    assert len(dialogues) == 300
    expected_success = [0.37, 0.47, 0.5867, 0.6867, 0.7567, 0.8133, 0.87]
    expected_telling = [0.03, 0.0367, 0.0433, 0.0467, 0.0667, 0.0833, 0.09]
    assert success == pytest.approx(expected_success, abs=1e-4)
    assert telling == pytest.approx(expected_telling, abs=1e-4)
