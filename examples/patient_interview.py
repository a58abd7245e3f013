"""A trainee interviews a simulated CBT patient in two styles, then writes down the
cognitive model, which is scored against the true one. The patient is the project's own
sample (Dana), so this runs offline. A simulation: the patient is a cognitive model that
answers the intent of each question, not an LLM."""

import asyncio

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from knowledge_graph.builders import sample_patient_graph
from personas import SimulatedPatient, score_cognitive_model
from protocols import PatientUtterance, Question

QUESTIONS = [
    "What happened this week?",
    "What was going through your head?",
    "That sounds really hard. How were you feeling?",
    "I understand. And then what did you do?",
    "It makes sense. Deep down, what does it say about you?",
]
WRITTEN = {
    "situation": "A friend hadn't replied to her texts for a couple of days.",
    "automatic_thought": "She thinks her friend is fed up with her and that it's her fault.",
    "emotion": "sad and anxious",
    "core_belief": "She believes she isn't good enough and that people will leave her.",
}


async def interview(style: str) -> None:
    patient = SimulatedPatient("patient", sample_patient_graph(), "patient:sample-1", style=style)
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
    print(f"-- {style}: {patient.description}")
    said = [m.text for m in result.messages if isinstance(m, PatientUtterance)]
    for message in result.messages[1:-1]:
        print(f"{message.sender}: {message.text}")  # type: ignore[union-attr]
    scores = score_cognitive_model(WRITTEN, patient.model, said=said)
    print(" ".join(f"{field}={score:.2f}" for field, score in scores.items() if field in WRITTEN))


async def main() -> None:
    for style in ("plain", "reserved"):
        await interview(style)


if __name__ == "__main__":
    asyncio.run(main())
