"""A trainee interviews a simulated CBT patient (PATIENT-Ψ profile from the data folder in
$LYCEUM_DATA_DIR), then writes down the cognitive model, which is scored against the true
one. A simulation: the patient is a cognitive model, not an LLM."""

import asyncio

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from knowledge_graph.builders import cbt_graph
from personas import SimulatedPatient, score_cognitive_model
from protocols import PatientUtterance, Question

QUESTIONS = [
    "What happened this week?",
    "What went through your mind then?",
    "That sounds really hard. How did you feel?",
    "I understand. What did you do after that?",
    "It makes sense. Deep down, what does it say about you?",
]


async def main() -> None:
    patient = SimulatedPatient("patient", cbt_graph(), "patient:1-1", style="plain")
    asked = iter(QUESTIONS)
    trainee = FunctionAgent(
        "trainee",
        lambda m, ctx: Question(to="patient", text=q) if (q := next(asked, None)) else None,
    )
    graph = (
        AgentGraph()
        .edge(trainee, patient, kinds=[Question])
        .edge(patient, trainee, kinds=[PatientUtterance])
    )
    result = await Runtime().run(
        graph, Question(to="trainee", text="begin"), budget=Budget(turns=20)
    )
    for message in result.messages[1:-1]:
        print(f"{message.sender}: {message.text}")  # type: ignore[union-attr]
    written = {
        "situation": "thinking about bills",
        "automatic_thought": "I will run out of money",
        "emotion": "anxious and scared",
        "core_belief": "I am incompetent",
    }
    for field, score in score_cognitive_model(written, patient.model).items():
        print(f"{field}: {score:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
