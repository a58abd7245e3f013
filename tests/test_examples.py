"""Every script in examples/ runs, offline, and prints exactly what it should."""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

HINT = (  # the teacher's hint in examples/teacher_reviewer_student.py
    "Thirds and sixths share a part size: sixths. Rewrite 1/3 as 2/6, then add only the numerators."
)
EXPECTED = {
    "teacher_reviewer_student.py": "\n".join(
        [
            "user → teacher  Answer: 2/9",
            "teacher → reviewer  Hint: The answer is 1/2.",
            "reviewer → teacher  Review: changes requested: gives the answer away: "
            "the hint contains '1/2'",
            "teacher → reviewer  Hint: " + HINT,
            "reviewer → student  Hint: " + HINT,
            "reviewer → teacher  Review: approved",
            "student → teacher  Answer: 1  (confidence 0.27)",
            "teacher → reviewer  Hint: " + HINT,
            "reviewer → student  Hint: " + HINT,
            "reviewer → teacher  Review: approved",
            "student → teacher  Answer: 1/2  (confidence 0.75)",
            "teacher → -  Stop: completed: Well done: 1/3 + 1/6 = 1/2.",
            "",
        ]
    ),
    "meta_agent.py": """\
Rewrite both over sixths: 2/6 + 1/6 = 3/6, so the sum is 1/2.
 - retrieve: kg_retrieval
 - kg:misconception:add_across
 - kg:misconception:cross_multiply
 - calculate: calculator
 - explain: fractions-a failed (fractions-a answered HTTP 503)
 - explain: fractions-b
 - review: approved
""",
    "patient_interview.py": """\
-- plain: Answers what is asked, once trust allows it.
trainee: What happened this week?
patient: Her friend did not answer her message for two days.
trainee: What was going through your head?
patient: She is tired of me; I must have done something wrong.
trainee: That sounds really hard. How were you feeling?
patient: sad, lonely, anxious, nervous
trainee: I understand. And then what did you do?
patient: Sent three apologetic messages and stayed home all evening checking her phone.
trainee: It makes sense. Deep down, what does it say about you?
patient: Nobody would stay if they really knew me. I am not good enough.
situation=0.20 automatic_thought=0.01 emotion=0.56 core_belief=0.09
-- reserved: Gives short answers and needs more trust before deeper beliefs.
trainee: What happened this week?
patient: Her friend did not answer her message for two days.
trainee: What was going through your head?
patient: She is tired of me;
trainee: That sounds really hard. How were you feeling?
patient: sad, lonely, anxious, nervous
trainee: I understand. And then what did you do?
patient: Sent three apologetic messages and stayed home all evening checking her phone.
trainee: It makes sense. Deep down, what does it say about you?
patient: I don't really want to go into that.
situation=0.20 automatic_thought=0.01 emotion=0.56 core_belief=0.09
""",
    "custom_persona.py": "What do you already know about ratios?\n",
    # A simulation (personas.minds), seeded; docs/simulation.md explains the figures.
    "budgeted_teacher.py": """\
SIMULATION: simulated students and a simulated teacher, not LLMs.
mental model fitted on 300 earlier students: prior 0.45, learn 0.50, slip 0.10, guess 0.16
accuracy after explaining ⌊B·N⌋ of N = 700 (student, item) pairs, mean ± 95% CI over 5 seeds
B    random            least confidence  expected utility  Û − least conf. (paired)
0.0  0.388 ± 0.037     0.388 ± 0.037     0.388 ± 0.037
0.2  0.487 ± 0.022     0.527 ± 0.029     0.548 ± 0.027     0.021 ± 0.006
0.4  0.584 ± 0.025     0.666 ± 0.028     0.707 ± 0.021     0.042 ± 0.011
0.6  0.686 ± 0.022     0.789 ± 0.015     0.823 ± 0.016     0.033 ± 0.019
0.8  0.782 ± 0.016     0.848 ± 0.009     0.873 ± 0.008     0.025 ± 0.004
1.0  0.882 ± 0.010     0.882 ± 0.010     0.882 ± 0.010
Û ranking vs confidence ranking (least confident first), at B = 0.4:
  Kendall tau 0.443 ± 0.011; top-⌊B·N⌋ sets share 0.667 ± 0.036
  only Û picks: 466 pairs; 47% with a diagnosed misconception, 7% right on the first try
  only confidence picks: 466 pairs; 30% with a diagnosed misconception, 24% right on the first try
""",
}


def test_every_example_has_an_expected_output() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_and_prints_its_transcript(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    assert out.getvalue() == EXPECTED[name]
