"""A simulated CBT patient (PATIENT-Ψ), driven by a cognitive model from the CBT graph.

The patient holds one profile of ``knowledge_graph.builders.cbt_graph`` and reveals its
fields gradually: a question about feelings may reveal the emotions, one about thoughts
the automatic thought, and so on. Deeper fields need trust, which grows with empathic
turns: intermediate beliefs at trust ≥ 2, core beliefs at trust ≥ 3. It speaks in one of
the six PATIENT-Ψ styles. Trust and what has been revealed belong to one interview: a
``PatientSession`` (``SimulatedPatient.new_state()``), made fresh for each run.
``score_cognitive_model`` scores a trainee's written model against the true one. A
simulation, not an LLM.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import cast

from knowledge_graph import GraphStore
from personas.state import run_state
from protocols import Envelope, Message, PatientUtterance, UserError
from protocols.messages import PatientStyle

__all__ = ["FIELDS", "PatientSession", "SimulatedPatient", "score_cognitive_model"]

# field: (node label, words in the therapist's turn that ask for it, trust needed)
FIELDS: dict[str, tuple[str, tuple[str, ...], float]] = {
    "situation": ("Situation", ("happen", "situation", "when did", "where were"), 0),
    "automatic_thought": ("AutomaticThought", ("think", "thought", "through your mind"), 0),
    "emotion": ("Emotion", ("feel", "emotion", "mood"), 0),
    "behavior": ("Behavior", (" do ", " did ", "react", "behav"), 0),
    "coping": ("CopingStrategy", ("cope", "deal with", "usually handle"), 1),
    "history": ("History", ("childhood", "growing up", "family", "past"), 1),
    "intermediate_belief": ("IntermediateBelief", ("rule", "should", "assume", "if you"), 2),
    "core_belief": ("CoreBelief", ("about yourself", "say about you", "deep down", "believe"), 3),
}
_EMPATHY = ("understand", "sounds", "that must", "i hear", "makes sense", "thank you for")
STYLES = ("plain", "upset", "verbose", "reserved", "tangent", "pleasing")


class PatientSession:
    """One interview with a patient: the trust built so far and the fields revealed.

    Args:
        model: The patient's cognitive model, field by field.
        style: How it speaks.
        rng: Chooses the wording (seed it for reproducible interviews).
    """

    def __init__(self, model: Mapping[str, list[str]], style: str, rng: random.Random) -> None:
        self.model = model
        self.style = style
        self.rng = rng
        self.trust = 0.0
        self.revealed: set[str] = set()

    def _asked(self, text: str) -> list[str]:
        padded = f" {text.lower()} "
        return [f for f, (_, words, _) in FIELDS.items() if any(w in padded for w in words)]

    def reply_to(self, text: str) -> str:
        """The patient's answer to one therapist turn (and the trust it builds)."""
        self.trust += 1.0 if any(w in text.lower() for w in _EMPATHY) else 0.5
        for field in self._asked(text):
            needed = FIELDS[field][2]
            if self.model[field] and self.trust >= needed:
                self.revealed.add(field)
                return self._styled(" ".join(self.model[field]))
            if self.model[field]:
                return self._styled("I'd rather not get into that right now.")
        return self._styled("I'm not sure what you mean.")

    def _styled(self, text: str) -> str:
        match self.style:
            case "upset":
                return f"Why does that matter? {text}"
            case "verbose":
                extra = self.model["history"][0] if self.model["history"] else ""
                return f"{text} It's a long story, really. {extra}".strip()
            case "reserved":
                return re.split(r"(?<=[.!?;])\s", text)[0]
            case "tangent":
                aside = self.rng.choice(
                    ["The weather has been awful lately.", "My neighbour's dog barked all night."]
                )
                return f"{text} Anyway, {aside.lower()}"
            case "pleasing":
                return f"You're right to ask. {text}"
            case _:
                return text


class SimulatedPatient:
    """One patient of the CBT graph, interviewed turn by turn (each run is a new interview,
    a ``PatientSession``).

    Args:
        name: The agent name.
        kg: A graph built by ``cbt_graph``.
        patient: The patient node id, e.g. ``"patient:1-1"``.
        style: One of the six styles (plain, upset, verbose, reserved, tangent, pleasing).
        seed: Seeds the choice of wording.
    """

    def __init__(
        self, name: str, kg: GraphStore, patient: str, *, style: str = "plain", seed: int = 0
    ) -> None:
        if style not in STYLES:
            raise UserError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
        node = kg.node(patient)
        if node is None or "Patient" not in node.labels:
            raise UserError(f"{patient!r} is not a Patient node of the CBT graph")
        self.name = name
        self.style = style
        self.seed = f"{seed}:{patient}"
        owned = [kg.node(e.target) for e in kg.edges(patient, type="HAS")]
        self.model: dict[str, list[str]] = {}
        for field, (label, _, _) in FIELDS.items():
            self.model[field] = [
                str(n.properties["text"]) for n in owned if n is not None and label in n.labels
            ]
        self.emits = (PatientUtterance,)

    def new_state(self) -> PatientSession:
        """A new interview: no trust yet, nothing revealed."""
        return PatientSession(self.model, self.style, random.Random(self.seed))

    async def handle(self, message: Message, ctx: object) -> Sequence[Envelope]:
        session = run_state(ctx, PatientSession)
        text = str(getattr(message, "text", "") or "")
        reply = session.reply_to(text)
        emotion = self.model["emotion"][0] if "emotion" in session.revealed else None
        style = cast(PatientStyle, self.style)
        return [PatientUtterance(to=message.sender, text=reply, style=style, emotion=emotion)]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']+", text.lower()) if len(w) > 2}


def score_cognitive_model(
    written: Mapping[str, str], truth: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """Per field, the word overlap (Jaccard, 0–1) between a trainee's written cognitive
    model and the patient's true one; fields left blank score 0."""
    scores = {}
    for field, true_texts in truth.items():
        if not true_texts:
            continue
        mine, real = _words(written.get(field, "")), _words(" ".join(true_texts))
        scores[field] = len(mine & real) / len(mine | real) if mine | real else 0.0
    return scores
