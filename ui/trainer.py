"""The patient trainer's logic, free of Streamlit (the page is ``ui/views/patient.py``).

A trainee interviews a ``SimulatedPatient`` (PATIENT-Ψ) turn by turn through its
``PatientSession``, writes down the patient's cognitive model, and gets a field-by-field
score (``personas.score_cognitive_model``) with feedback. The finished interview is
recorded as a run in the store: the trainee's questions are put to a fresh patient of the
same seed through the ``Runtime``, which reproduces the interview word for word (the
patient is deterministic given its seed and what it is asked).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from knowledge_graph import GraphStore
from knowledge_graph.builders import cbt_graph, load_profiles, sample_patient_graph
from personas import (
    CCDTaxonomy,
    SimulatedPatient,
    TextSimilarity,
    load_taxonomy,
    score_cognitive_model,
)
from personas.patient import IntentClassifier, PatientSession, copied_fraction
from personas.patient.styles import FIELD_DEPTH
from protocols import ConfigError, Message, PatientUtterance, Question, Stop, TaskAssignment

__all__ = [
    "FIELD_NAMES",
    "Interview",
    "PatientChoice",
    "data_taxonomy",
    "feedback",
    "patient_choices",
    "record_interview",
]

SAMPLE = "patient:sample-1"

FIELD_NAMES = {
    "situation": "Situation",
    "automatic_thought": "Automatic thought",
    "emotion": "Emotions",
    "behavior": "Behaviour",
    "coping": "Coping strategies",
    "history": "Relevant history",
    "intermediate_belief": "Intermediate beliefs (rules, assumptions)",
    "core_belief": "Core beliefs",
}
"""The cognitive-model form's label of each CBT field (``personas.patient.FIELDS``)."""

GOOD, PARTLY = 0.6, 0.3
"""Feedback bands of a field's score: close from 0.6, partly from 0.3 (display only)."""
PARROTED = 0.5
"""Above this share of copied word trigrams, the feedback says the answer repeats the patient."""


@dataclass(frozen=True)
class PatientChoice:
    """A patient the trainee may interview: its graph and node id, and where it came from."""

    label: str
    graph: GraphStore
    patient: str


def patient_choices(data_dir: str | None) -> list[PatientChoice]:
    """The project's sample patient (Dana), then, when ``data_dir`` is given, the PATIENT-Ψ
    profiles of its ``patient_psi/profiles.json``.

    Raises:
        ConfigError: ``data_dir`` is given but the profiles cannot be read (the message
            names the file and the fix).
    """
    sample = sample_patient_graph()
    name = (sample.node(SAMPLE) or _missing(SAMPLE)).properties["name"]
    choices = [PatientChoice(f"{name} (the project's sample patient)", sample, SAMPLE)]
    if data_dir:
        profiles = load_profiles(data_dir)
        graph = cbt_graph(profiles=profiles)
        for p in profiles:
            label = f"{p['name']} (PATIENT-Ψ profile {p['id']})"
            choices.append(PatientChoice(label, graph, f"patient:{p['id']}"))
    return choices


def _missing(node: str) -> Any:
    raise ConfigError(f"the sample patient graph has no node {node}; reinstall lyceum")


def data_taxonomy(data_dir: str | None) -> CCDTaxonomy | None:
    """The PATIENT-Ψ taxonomy of the data folder, or None without one.

    Raises:
        ConfigError: ``data_dir`` is given but the taxonomy file cannot be read.
    """
    return load_taxonomy(data_dir=data_dir) if data_dir else None


@dataclass
class Interview:
    """One trainee's interview: the patient, its session (trust, what it revealed), the turns
    so far, and the score once the form is handed in."""

    choice: PatientChoice
    style: str
    seed: int
    patient: SimulatedPatient
    session: PatientSession
    turns: list[tuple[str, str]] = field(default_factory=list)
    scores: dict[str, float] | None = None
    written: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    scorer: Literal["lexical", "embedding"] = "lexical"

    @classmethod
    def start(
        cls,
        choice: PatientChoice,
        style: str,
        seed: int,
        *,
        taxonomy: CCDTaxonomy | None = None,
        intents: IntentClassifier | None = None,
    ) -> Interview:
        """A new interview with the chosen patient in ``style`` (``intents``: a shared
        classifier, built once)."""
        patient = SimulatedPatient(
            "patient",
            choice.graph,
            choice.patient,
            style=style,
            seed=seed,
            intents=intents,
            taxonomy=taxonomy,
        )
        return cls(choice, style, seed, patient, patient.new_state())

    def ask(self, text: str) -> str:
        """The patient's reply to one trainee turn (recorded in ``turns``)."""
        reply = self.session.reply_to(text)
        self.turns.append((text, reply))
        return reply

    def said(self) -> list[str]:
        """What the patient has said so far."""
        return [reply for _, reply in self.turns]

    def score(
        self,
        written: dict[str, str],
        taxonomy: CCDTaxonomy | None,
        similarity: TextSimilarity | None = None,
    ) -> dict[str, float]:
        """Score the trainee's cognitive model against the patient's true one
        (``similarity``: the text similarity, lexical by default)."""
        self.written = dict(written)
        self.scores = score_cognitive_model(
            written,
            self.patient.model,
            said=self.said(),
            taxonomy=taxonomy,
            similarity=similarity,
        )
        self.scorer = similarity.backend if similarity is not None else "lexical"
        return self.scores


def feedback(interview: Interview, field_name: str) -> str:
    """One line of feedback on a scored field."""
    assert interview.scores is not None
    score = interview.scores[field_name]
    mine = interview.written.get(field_name, "").strip()
    heard = field_name in interview.session.revealed
    if not mine:
        line = "left blank"
    elif score >= GOOD:
        line = "close to the patient's model"
    elif score >= PARTLY:
        line = "partly right"
    else:
        line = "does not match the patient's model"
    if mine and copied_fraction(mine, interview.said()) > PARROTED:
        line += "; it repeats the patient's words: formulate it in your own"
    if not heard:
        line += "; the patient never disclosed it: ask about it"
        if FIELD_DEPTH[field_name] > 0:
            line += " (deeper fields need more trust: listen and validate first)"
    return line[0].upper() + line[1:] + "."


async def _replay(interview: Interview, db: str, detail: str) -> tuple[str, list[str]]:
    questions = iter(q for q, _ in interview.turns)

    def trainee(message: Message, ctx: object) -> Question | Stop:
        nxt = next(questions, None)
        if nxt is None:
            return Stop(detail=detail)
        return Question(to="patient", text=nxt)

    patient = SimulatedPatient(
        "patient",
        interview.choice.graph,
        interview.choice.patient,
        style=interview.style,
        seed=interview.seed,
        intents=interview.patient.intents,
    )
    graph = (
        AgentGraph()
        .edge(FunctionAgent("trainee", trainee, emits=[Question, Stop]), patient, kinds=[Question])
        .edge(patient, "trainee", kinds=[PatientUtterance])
    )
    start = TaskAssignment(
        to="trainee",
        task=f"patient trainer: interview {interview.choice.patient} ({interview.style} style)",
    )
    turns = 2 * len(interview.turns) + 4
    result = await Runtime(db).run(graph, start, budget=Budget(turns=turns), seed=interview.seed)
    replies = [m.text for m in result.messages if isinstance(m, PatientUtterance)]
    return result.run_id, replies


def record_interview(interview: Interview, db: str) -> str:
    """Record the scored interview as a run in the store ``db``; its id.

    Raises:
        ConfigError: The recorded replies differ from the ones the trainee saw (they
            cannot, unless the patient stopped being deterministic).
    """
    scores = interview.scores or {}
    mean = sum(scores.values()) / len(scores) if scores else 0.0
    detail = (
        f"the trainee ended the interview after {len(interview.turns)} questions; "
        f"cognitive-model score {mean:.2f} (simulated patient, {interview.style} style)"
    )
    run_id, replies = asyncio.run(_replay(interview, db, detail))
    if replies != interview.said():
        raise ConfigError(f"run {run_id}: the recorded interview differs from the one shown")
    interview.run_id = run_id
    return run_id
