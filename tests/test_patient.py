"""The simulated CBT patient answers the intent of a question, discloses by style and trust,
and scores a trainee's formulation (offline on the project's sample patient; with the
PATIENT-Ψ data where it is given)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from knowledge_graph import GraphStore
from knowledge_graph.builders import cbt_graph, sample_patient_graph
from personas.patient import (
    SimulatedPatient,
    TextSimilarity,
    copied_fraction,
    load_taxonomy,
    score_cognitive_model,
)
from protocols import ConfigError, PatientUtterance, Question, UserError

from .conftest import require

SAMPLE = "patient:sample-1"
INTERVIEW = [
    "Hello, how are you?",
    "What happened this week?",
    "What went through your mind then?",
    "How did you feel?",
    "What did you do after that?",
    "That sounds really hard. How do you usually cope with things like this?",
    "Deep down, what does this say about you?",
]
SITUATION = "Her friend did not answer her message for two days."
THOUGHT = "She is tired of me; I must have done something wrong."
EMOTION = "sad, lonely, anxious, nervous"
BEHAVIOR = "Sent three apologetic messages and stayed home all evening checking her phone."
COPING = "Puts other people's needs first, works late and hides her feelings from friends."
CORE = "Nobody would stay if they really knew me. I am not good enough."
SAD = "sad, lonely"
REFUSE_UPSET = "Why do you need to know that? I don't see how this helps."


async def interview(style: str) -> list[PatientUtterance]:
    questions = iter(INTERVIEW)

    def trainee(message, ctx):  # type: ignore[no-untyped-def]
        nxt = next(questions, None)
        return Question(to="patient", text=nxt) if nxt else None

    patient = SimulatedPatient("patient", sample_patient_graph(), SAMPLE, style=style)
    graph = (
        AgentGraph()
        .edge(FunctionAgent("trainee", trainee), patient, kinds=[Question])
        .edge(patient, "trainee", kinds=[PatientUtterance])
    )
    result = await Runtime().run(
        graph, Question(to="trainee", text="begin"), budget=Budget(turns=30)
    )
    return [m for m in result.messages if isinstance(m, PatientUtterance)]


BUS = "the bus was late three times this week."
DOG = "my neighbour's dog barked all night again."
TRANSCRIPTS: dict[str, list[tuple[str, str | None]]] = {
    # discloses every field it is asked, once trust allows
    "plain": [
        ("I'm okay.", None),
        (SITUATION, None),
        (THOUGHT, None),
        (EMOTION, SAD),
        (BEHAVIOR, SAD),
        (COPING, SAD),
        (CORE, SAD),
    ],
    # brief, and withholds the core belief (it needs 4.5 trust, not 3)
    "reserved": [
        ("I'm okay.", None),
        (SITUATION, None),
        ("She is tired of me;", None),
        (EMOTION, SAD),
        (BEHAVIOR, SAD),
        (COPING, SAD),
        ("I don't really want to go into that.", SAD),
    ],
    # downplays its emotions and behaviour until trust reaches 3
    "pleasing": [
        ("I'm okay.", None),
        (SITUATION, None),
        (THOUGHT, None),
        ("Maybe a little sad, but honestly it's fine.", None),
        ("Nothing much, really. I'm fine.", None),
        (COPING, None),
        (CORE, None),
    ],
    # refuses at first, challenges, trusts at half rate
    "upset": [
        ("Fine, I guess. Can we just get on with it?", None),
        (REFUSE_UPSET, None),
        (REFUSE_UPSET, None),
        (f"Why does that matter? {EMOTION}", SAD),
        (f"Why does that matter? {BEHAVIOR}", SAD),
        (f"Why does that matter? {COPING}", SAD),
        (REFUSE_UPSET, SAD),
    ],
    # drifts (seeded), and once veers off without answering
    "tangent": [
        ("I'm okay.", None),
        (f"{SITUATION[:-1]}... Anyway, {BUS}", None),
        (f"She is tired of me... Anyway, {DOG}", None),
        (f"Oh, that reminds me, {BUS}", None),
        (f"{BEHAVIOR[:-1]}... Anyway, {DOG}", None),
        (f"Puts other people's needs first... Anyway, {BUS}", None),
        (CORE, None),
    ],
}


@pytest.mark.parametrize("style", sorted(TRANSCRIPTS))
async def test_the_whole_interview_transcript_in_each_style(style: str) -> None:
    keep = {"sender", "recipients", "kind", "text", "style", "emotion"}
    want = [
        PatientUtterance(sender="patient", to="trainee", text=t, style=style, emotion=e)  # type: ignore[arg-type]
        for t, e in TRANSCRIPTS[style]
    ]
    got = await interview(style)
    assert [m.model_dump(include=keep) for m in got] == [m.model_dump(include=keep) for m in want]


def test_the_same_interview_discloses_different_fields_by_style() -> None:
    revealed = {}
    for style in ("plain", "reserved", "pleasing", "upset", "tangent", "verbose"):
        session = SimulatedPatient("p", sample_patient_graph(), SAMPLE, style=style).new_state()
        for turn in INTERVIEW:
            session.reply_to(turn)
        revealed[style] = session.revealed
    asked = {"situation", "automatic_thought", "emotion", "behavior", "coping", "core_belief"}
    assert revealed == {
        "plain": asked,
        "reserved": asked - {"core_belief"},
        "pleasing": asked - {"emotion", "behavior"},
        "upset": asked - {"situation", "automatic_thought", "core_belief"},
        "tangent": asked - {"emotion"},
        "verbose": asked,
    }


def test_trust_grows_from_what_the_classifier_reads_as_empathy() -> None:
    patient = SimulatedPatient("p", sample_patient_graph(), SAMPLE)
    warm, flat = patient.new_state(), patient.new_state()
    warm.reply_to("I'm so sorry you went through all of that, it sounds painful.")
    flat.reply_to("Please state the date of your last appointment.")
    assert (warm.trust, flat.trust) == (1.0, 0.5)
    assert warm.last_intent is not None and warm.last_intent.empathic


def test_formulation_scores_paraphrase_above_unrelated_and_penalises_parroting() -> None:
    patient = SimulatedPatient("p", sample_patient_graph(), SAMPLE)
    truth = patient.model
    heard = [SITUATION, THOUGHT, BEHAVIOR]
    paraphrase = score_cognitive_model(
        {"situation": "Her friend hadn't replied to her messages for a couple of days."},
        truth,
        said=heard,
    )
    unrelated = score_cognitive_model({"situation": "He lost his keys at the gym."}, truth)
    parrot = score_cognitive_model({"situation": SITUATION}, truth, said=heard)
    assert paraphrase["situation"] > unrelated["situation"] + 0.2
    assert parrot["situation"] == pytest.approx(0.5)  # a full copy keeps half its score
    assert copied_fraction(SITUATION, heard) == 1.0
    assert score_cognitive_model({"situation": SITUATION}, truth)["situation"] == pytest.approx(1)
    assert set(parrot) == {f for f, t in truth.items() if t} and parrot["history"] == 0.0


@pytest.fixture(scope="module")
def data() -> str:
    found = os.environ.get("LYCEUM_DATA_DIR", "")
    require(bool(found) and Path(found).is_dir(), "LYCEUM_DATA_DIR is not set")
    return found


@pytest.fixture(scope="module")
def kg(data: str) -> GraphStore:
    return cbt_graph(data)


def test_taxonomy_label_scores_for_the_patient_whose_core_belief_it_is(
    kg: GraphStore, data: str
) -> None:
    taxonomy = load_taxonomy(data_dir=data)
    abe = SimulatedPatient("p", kg, "patient:1-1", style="upset", taxonomy=taxonomy)
    assert abe.description == taxonomy.descriptions["upset"]
    scores = score_cognitive_model(
        {"core_belief": "I am a failure, loser.", "emotion": "anxious and scared"},
        abe.model,
        taxonomy=taxonomy,
    )
    assert scores["core_belief"] == pytest.approx(2 / 3)  # one of Abe's two options
    assert scores["emotion"] == 1.0
    other = score_cognitive_model({"core_belief": "I am unlovable."}, abe.model, taxonomy=taxonomy)
    assert other["core_belief"] == 0.0


def test_bad_arguments_and_bad_files(tmp_path: Path) -> None:
    kg = sample_patient_graph()
    with pytest.raises(UserError, match="style must be one of"):
        SimulatedPatient("p", kg, SAMPLE, style="angry")
    with pytest.raises(UserError, match="not a Patient node"):
        SimulatedPatient("p", kg, "patient:9-9")
    with pytest.raises(UserError, match="backend must be"):
        TextSimilarity("cosine")  # type: ignore[arg-type]
    bad = tmp_path / "taxonomy.json"
    bad.write_text('{"core_beliefs": {"helplessBeliefItems": [{"id": 1}]}}')
    with pytest.raises(ConfigError, match=r"core_beliefs\.helplessBeliefItems"):
        load_taxonomy(bad)
