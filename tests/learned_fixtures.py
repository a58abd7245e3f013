"""Small made-up data in the shapes of Bridge and MathDial, for offline tests of the
learned models (the real files are in the shared data folder, never here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agents import AgentGraph, FunctionAgent
from personas import Persona, ToolRegistry, builtin_persona, calculator_tool
from personas.moves import bridge_tool, moves_tool
from personas.teacher import SimulatedTeacherMind

# Bridge: the student's last turn signals the error; each error has its own strategy and
# intention, so a model that reads the text can learn all three heads.
KINDS = {
    "guess": ("ask_question", "diagnose_mistake", ["idk", "no idea", "maybe", "i guessed"]),
    "careless": ("provide_hint", "hint_mistake", ["2/9", "3/8", "5/9", "2/7"]),
    "right-idea": (
        "explain_concept",
        "understand_topic",
        ["i think we need the same bottom", "we add the tops i think", "common bottom first"],
    ),
}
TUTOR = ["What is 1/3 + 1/6?", "Try this one.", "What do you get?", "Next question."]


def bridge_records(n: int, offset: int = 0) -> list[dict[str, Any]]:
    """``n`` records in Bridge's format, cycling through the three kinds."""
    records = []
    names = list(KINDS)
    for i in range(offset, offset + n):
        error = names[i % len(names)]
        strategy, intention, answers = KINDS[error]
        answer = answers[(i // len(names)) % len(answers)]
        history = [
            {"id": 1, "text": TUTOR[i % len(TUTOR)], "time": "", "user": "tutor"},
            {"id": 2, "text": answer, "time": "", "user": "student"},
        ]
        records.append(
            {
                "c_id": f"c{i}",
                "lesson_topic": "fractions",
                "c_h": history,
                "c_r": [],
                "c_r_": [],
                "e": error,
                "z_what": strategy,
                "z_why": intention,
            }
        )
    return records


MOVES = {
    "probing": ["How did you get {n}?", "Can you explain why {n}?", "Why did you pick {n}?"],
    "focus": ["Look at the step with {n} again.", "Check the second step, {n}.", "Focus on {n}."],
    "telling": ["The answer is {a}.", "You need to add, so it is {a}.", "It should be {a}."],
    "generic": ["Great job!", "Hi, talk me through it.", "Good, thanks."],
}


def mathdial_lines(n: int) -> list[str]:
    """``n`` dialogues in MathDial's JSONL format, each about its own problem."""
    lines = []
    for i in range(n):
        given, answer = 3 + i, 3 * (3 + i)
        turns = []
        for j, (move, texts) in enumerate(MOVES.items()):
            text = texts[(i + j) % len(texts)].format(n=given + 1, a=answer)
            turns.append(f"Teacher: ({move}){text}")
            turns.append(f"Student: I got {given + 1}.")
        record = {
            "qid": 1000 + i,
            "scenario": 1,
            "question": f"Sam has {given} bags of 3 apples. How many apples?",
            "ground_truth": f"{given} * 3 = {answer}\n {answer}",
            "student_incorrect_solution": f"{given} + 1 = {given + 1}\n {given + 1}",
            "student_profile": "A student.",
            "teacher_described_confusion": "adds instead of multiplying",
            "self-correctness": "Yes",
            "self-typical-confusion": 4.0,
            "self-typical-interactions": 4.0,
            "conversation": "|EOM|".join(turns),
        }
        lines.append(json.dumps(record))
    return lines


def write_data(root: Path) -> Path:
    """A data folder with made-up ``bridge/`` and ``mathdial/`` files; returns ``root``."""
    (root / "bridge").mkdir(parents=True)
    (root / "mathdial").mkdir()
    (root / "bridge" / "train.json").write_text(json.dumps(bridge_records(30)))
    (root / "bridge" / "validation.json").write_text(json.dumps(bridge_records(9, offset=30)))
    (root / "mathdial" / "dev.jsonl").write_text("\n".join(mathdial_lines(15)) + "\n")
    return root


def teacher_graph(mind: SimulatedTeacherMind) -> AgentGraph:
    """A teacher persona on ``mind`` with its planning tools, before a silent student."""
    tools = ToolRegistry([bridge_tool(), moves_tool(), calculator_tool()])
    teacher = Persona(builtin_persona("teacher"), mind, tools=tools)
    silent = FunctionAgent("student", lambda message, ctx: None)
    return AgentGraph().edge(teacher, silent, kinds=["Hint", "Question", "Explanation"])
