"""Teacher → reviewer → student: an LLM-minded teacher persona (here on a scripted
FunctionModel; swap in OpenAIChatClient for a real model), a rubric reviewer that checks
each hint before the student sees it, and a simulated student. Offline, deterministic."""

import asyncio
import json

from agents import AgentGraph, Budget, Runtime
from agents.cli import render_message
from agents.models import FunctionModel, ModelRequest
from knowledge_graph.builders import sample_curriculum
from personas import (
    PROFILES,
    LLMMind,
    Persona,
    PlanOut,
    RubricReviewer,
    SimulatedStudent,
    ThoughtVars,
    builtin_persona,
)
from protocols import Answer, Hint, Question, Review


def teacher_model() -> FunctionModel:
    """What a model would answer in each phase (a stand-in for a real LLM). The phase is
    the request's typed ``output_type``, never read from the prompt; like a model, it reads
    the student's answer from the prompt."""
    drafts = iter(["The answer is 1/2."])  # a first draft the reviewer will reject

    def reply(request: ModelRequest) -> str:
        prompt = request.messages[-1].content  # after the persona's system prompt
        if request.output_type is ThoughtVars:
            return json.dumps(
                {
                    "knowledge": "adds numerators and denominators",
                    "misconception": "add_across",
                    "guideline": "hint at sixths",
                }
            )
        if request.output_type is not None and issubclass(request.output_type, PlanOut):
            return json.dumps({"calls": [], "rationale": "a hint is enough"})
        if "student just said: 1/2" in prompt:
            return json.dumps({"kind": "stop", "text": "Well done: 1/3 + 1/6 = 1/2."})
        hint = "Thirds and sixths share a part size: sixths. Rewrite 1/3 as 2/6, then add only "
        text = next(drafts, hint + "the numerators.")
        return json.dumps({"kind": "hint", "text": text})

    return FunctionModel(reply)


async def main() -> None:
    kg = sample_curriculum()
    teacher = Persona(builtin_persona("teacher"), LLMMind(teacher_model()), kinds=["hint", "stop"])
    reviewer = RubricReviewer("reviewer", student="student", kg=kg)
    student = SimulatedStudent("student", kg, PROFILES["novice"], seed=3)
    graph = (
        AgentGraph()
        .edge(teacher, reviewer, kinds=[Hint])
        .edge(reviewer, student, kinds=[Hint])
        .edge(reviewer, teacher, kinds=[Review])
        .edge(student, teacher, kinds=[Answer])
    )
    first = Answer(to="teacher", text="2/9", item_id="item:frac-add-1")
    result = await Runtime().run(graph, first, budget=Budget(turns=20))
    for message in result.messages:
        if message.kind not in ("thought", "plan"):  # the teacher's reasoning, recorded too
            print(render_message(message))
    assert Question  # the graph's kinds all come from protocols


if __name__ == "__main__":
    asyncio.run(main())
