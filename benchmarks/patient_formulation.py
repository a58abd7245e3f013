"""Formulation scores for the truth, a paraphrase, a parrot and unrelated text
(docs/simulation.md, "The simulated patient").

    LYCEUM_DATA_DIR=../shared/data python benchmarks/patient_formulation.py

Patient ``patient:1-1`` (Abe) of the PATIENT-Ψ profiles, scored with the taxonomy. The
paraphrases and unrelated answers below were written for this table. *truth* is the true text
with no transcript (the ceiling); *parrot* is what the plain patient said for the field,
pasted, scored against the transcript of that interview (the copying penalty applies).
"""

from __future__ import annotations

import sys

from knowledge_graph.builders import cbt_graph
from personas.patient import (
    SimulatedPatient,
    TextSimilarity,
    embeddings_installed,
    load_taxonomy,
    score_cognitive_model,
)

PARAPHRASE = {
    "situation": "He was worrying about paying his bills.",
    "automatic_thought": "He feared he would not have enough money.",
    "emotion": "He felt worried and scared.",
    "behavior": "He stayed on the sofa, going over his failures in his head.",
    "coping": "He stays away from challenges and does not ask others for help.",
    "history": "His dad left when he was a boy and his mother was critical and overburdened; "
    "recently he lost his job and got divorced.",
    "intermediate_belief": "He believes he must be competent and hard-working; if he takes on "
    "hard tasks or asks for help, he will fail and people will see he is incompetent.",
    "core_belief": "He sees himself as incompetent and a failure.",
}
UNRELATED = {
    "situation": "Planning a birthday party for her niece.",
    "automatic_thought": "The weather will be nice tomorrow.",
    "emotion": "jealous and envious",
    "behavior": "Went for a long run and cooked dinner.",
    "coping": "Talks to friends and exercises every morning.",
    "history": "Grew up on a farm with three sisters and loving grandparents.",
    "intermediate_belief": "People are generally kind and mistakes are part of learning.",
    "core_belief": "I am unlovable.",
}
QUESTIONS = {
    "situation": "What happened this week?",
    "automatic_thought": "What went through your mind?",
    "emotion": "How did you feel?",
    "behavior": "What did you do then?",
    "coping": "How do you usually cope?",
    "history": "Tell me about your childhood.",
    "intermediate_belief": "What rules do you live by?",
    "core_belief": "Deep down, what does this say about you?",
}
OPTION_FIELDS = ("core_belief", "emotion")


def table(data_dir: str | None = None) -> list[tuple[str, str, dict[str, float]]]:
    """(backend, row, per-field scores) for every row and backend installed."""
    taxonomy = load_taxonomy(data_dir=data_dir)
    patient = SimulatedPatient("patient", cbt_graph(data_dir), "patient:1-1")
    session = patient.new_state()
    session.trust = 10.0  # a patient who trusts fully: every field is said once
    said = {f: session.reply_to(q) for f, q in QUESTIONS.items()}
    truth = {f: " ".join(t) for f, t in patient.model.items()}
    rows = {
        "truth": (truth, ()),
        "paraphrase": (PARAPHRASE, tuple(said.values())),
        "taxonomy label": ({"core_belief": taxonomy.core_beliefs["failure"]}, ()),
        "parrot": (said, tuple(said.values())),
        "unrelated": (UNRELATED, tuple(said.values())),
    }
    backends = ["lexical"] + (["embedding"] if embeddings_installed() else [])
    out = []
    for backend in backends:
        sim = TextSimilarity(backend)  # type: ignore[arg-type]
        for name, (written, heard) in rows.items():
            scores = score_cognitive_model(
                written, patient.model, said=heard, taxonomy=taxonomy, similarity=sim
            )
            out.append((backend, name, {f: s for f, s in scores.items() if f in written}))
    return out


def main() -> int:
    print("| backend | written | core belief | emotion | free-text fields (mean of 6) |")
    print("|---|---|---|---|---|")
    for backend, name, scores in table():
        free = [s for f, s in scores.items() if f not in OPTION_FIELDS]
        cells = [f"{scores[f]:.2f}" if f in scores else "–" for f in OPTION_FIELDS]
        mean = f"{sum(free) / len(free):.2f}" if free else "–"
        print(f"| {backend} | {name} | {' | '.join(cells)} | {mean} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
