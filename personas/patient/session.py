"""A simulated CBT patient (PATIENT-Ψ) that answers the intent of a question, in its style.

Each trainee turn goes through the model, in order:

1. The ``IntentClassifier`` reads the turn: the field it asks about (or none), and whether it
   is empathic or small talk.
2. Trust grows: ``TRUST_PER_TURN``, plus ``TRUST_PER_EMPATHY`` if empathic, plus
   ``TRUST_PER_RAPPORT`` for small talk, all times the style's ``trust_gain``.
3. The field is disclosed if trust ≥ ``FIELD_DEPTH[field] × depth_trust`` (and ≥ the style's
   ``open_trust``), shaped by the style (``personas.patient.styles``): cut short, minimised,
   abandoned for a tangent, or extended to the next field.

Trust and what has been revealed belong to one interview, a ``PatientSession``
(``SimulatedPatient.new_state()``), made fresh for each run. A simulation, not an LLM.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import cast

from knowledge_graph import GraphStore
from personas.patient.intent import FIELDS, Intent, IntentClassifier
from personas.patient.styles import (
    FIELD_DEPTH,
    OWN_DESCRIPTIONS,
    STYLE_MODELS,
    STYLES,
    TRUST_PER_EMPATHY,
    TRUST_PER_RAPPORT,
    TRUST_PER_TURN,
    StyleModel,
)
from personas.patient.taxonomy import CCDTaxonomy
from personas.state import run_state
from protocols import Envelope, Message, PatientUtterance, UserError
from protocols.messages import PatientStyle

__all__ = ["FIELD_LABELS", "PatientSession", "SimulatedPatient"]

FIELD_LABELS = {
    "situation": "Situation",
    "automatic_thought": "AutomaticThought",
    "emotion": "Emotion",
    "behavior": "Behavior",
    "coping": "CopingStrategy",
    "history": "History",
    "intermediate_belief": "IntermediateBelief",
    "core_belief": "CoreBelief",
}
"""The node label of each field in the CBT graph (``knowledge_graph.builders.cbt_graph``)."""
_CHAIN = ("situation", "automatic_thought", "emotion", "behavior")
_ASIDES = (
    "my neighbour's dog barked all night again.",
    "the bus was late three times this week.",
    "I've been meaning to fix the kitchen tap for months.",
)
_REFUSE = {
    "upset": "Why do you need to know that? I don't see how this helps.",
    "reserved": "I don't really want to go into that.",
}
_NONE = {
    "empathy": {"upset": "You don't know what it's like.", "pleasing": "Thank you, that's kind."},
    "rapport": {"upset": "Fine, I guess. Can we just get on with it?"},
}
_CLAUSE = re.compile(r"(?<=[.!?;,])\s")


def _said(model: Mapping[str, list[str]], field: str) -> str:
    """A field's texts as the patient says them (emotions as one list)."""
    return (", " if field == "emotion" else " ").join(model[field])


class PatientSession:
    """One interview with a patient: the trust built so far and the fields revealed.

    Args:
        model: The patient's cognitive model, field by field.
        style: How it speaks (one of ``STYLES``).
        intents: Reads each trainee turn.
        rng: Draws the tangential patient's drifts (seed it for reproducible interviews).
    """

    def __init__(
        self,
        model: Mapping[str, list[str]],
        style: str,
        intents: IntentClassifier,
        rng: random.Random,
    ) -> None:
        self.model = model
        self.style = style
        self.behaviour: StyleModel = STYLE_MODELS[style]
        self.intents = intents
        self.rng = rng
        self.trust = 0.0
        self.revealed: set[str] = set()
        self.last_intent: Intent | None = None

    def needs(self, field: str) -> float:
        """The trust this patient needs before it discloses ``field``."""
        return max(FIELD_DEPTH[field] * self.behaviour.depth_trust, self.behaviour.open_trust)

    def reply_to(self, text: str) -> str:
        """The patient's answer to one therapist turn (and the trust the turn builds)."""
        intent = self.last_intent = self.intents.classify(text)
        gain = TRUST_PER_TURN + TRUST_PER_EMPATHY * intent.empathic
        self.trust += self.behaviour.trust_gain * (gain + TRUST_PER_RAPPORT * intent.rapport)
        field = intent.field
        if field is None:
            return self._no_field(intent.label)
        if not self.model[field]:
            return "I don't know, nothing comes to mind."
        if self.trust < self.needs(field):
            return _REFUSE.get(self.style, "I'd rather not get into that right now.")
        return self._disclose(field)

    def _no_field(self, label: str) -> str:
        if label in _NONE:
            return _NONE[label].get(self.style, "Thanks." if label == "empathy" else "I'm okay.")
        if self.behaviour.agrees:
            return "Yes, of course, that sounds like a good idea."
        return "I'm not sure what you mean."

    def _disclose(self, field: str) -> str:
        style, text = self.behaviour, _said(self.model, field)
        roll = self.rng.random() if style.skip or style.drift else 1.0
        if roll < style.skip:
            return f"Oh, that reminds me, {self.rng.choice(_ASIDES)}"
        if self.trust < style.honest_trust and field in ("emotion", "behavior"):
            if field == "emotion":
                first = re.split(r"[,;.]", text)[0].strip()
                return f"Maybe a little {first}, but honestly it's fine."
            return "Nothing much, really. I'm fine."
        self.revealed.add(field)
        if roll < style.skip + style.drift:
            clause = _CLAUSE.split(text)[0].rstrip(",;.")
            return f"{clause}... Anyway, {self.rng.choice(_ASIDES)}"
        if style.brief:
            text = re.split(r"(?<=[.!?;])\s", text)[0]
        if style.volunteers and field in _CHAIN[:-1]:
            nxt = _CHAIN[_CHAIN.index(field) + 1]
            if self.model[nxt] and self.trust >= self.needs(nxt):
                self.revealed.add(nxt)
                sep = " " if text.endswith((".", "!", "?")) else ". "
                text = f"{text}{sep}{_said(self.model, nxt)}"
        if self.trust < style.calm_trust:
            text = f"Why does that matter? {text}"
        return text


class SimulatedPatient:
    """One patient of the CBT graph, interviewed turn by turn (each run is a new interview,
    a ``PatientSession``).

    Args:
        name: The agent name.
        kg: A graph built by ``cbt_graph`` (or ``sample_patient_graph``).
        patient: The patient node id, e.g. ``"patient:1-1"``.
        style: One of the six styles (plain, upset, verbose, reserved, tangent, pleasing).
        seed: Seeds the tangential patient's drifts.
        intents: Reads the trainee's turns (default: the BM25 ``IntentClassifier``).
        taxonomy: When given, ``description`` is the paper's trainer-facing text.
    """

    def __init__(
        self,
        name: str,
        kg: GraphStore,
        patient: str,
        *,
        style: str = "plain",
        seed: int = 0,
        intents: IntentClassifier | None = None,
        taxonomy: CCDTaxonomy | None = None,
    ) -> None:
        if style not in STYLES:
            raise UserError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
        node = kg.node(patient)
        if node is None or "Patient" not in node.labels:
            raise UserError(f"{patient!r} is not a Patient node of the CBT graph")
        self.name = name
        self.style = style
        self.seed = f"{seed}:{patient}"
        self.intents = intents if intents is not None else IntentClassifier()
        self.description = (
            taxonomy.descriptions.get(style, OWN_DESCRIPTIONS[style])
            if taxonomy is not None
            else OWN_DESCRIPTIONS[style]
        )
        owned = [kg.node(e.target) for e in kg.edges(patient, type="HAS")]
        self.model: dict[str, list[str]] = {
            field: [
                str(n.properties["text"])
                for n in owned
                if n is not None and FIELD_LABELS[field] in n.labels
            ]
            for field in FIELDS
        }
        self.emits = (PatientUtterance,)

    def new_state(self) -> PatientSession:
        """A new interview: no trust yet, nothing revealed."""
        return PatientSession(self.model, self.style, self.intents, random.Random(self.seed))

    async def handle(self, message: Message, ctx: object) -> Sequence[Envelope]:
        session = run_state(ctx, PatientSession)
        text = str(getattr(message, "text", "") or "")
        reply = session.reply_to(text)
        emotion = self.model["emotion"][0] if "emotion" in session.revealed else None
        style = cast(PatientStyle, self.style)
        return [PatientUtterance(to=message.sender, text=reply, style=style, emotion=emotion)]
