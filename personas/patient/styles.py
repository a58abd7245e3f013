"""How each PATIENT-Ψ conversational style changes what the patient discloses, and when.

The paper gives its LLM simulator one instruction per style (``CCDTaxonomy
.simulator_instructions``). Here each instruction is modelled by named parameters of a
``StyleModel``; the numbers are design choices (PATIENT-Ψ publishes no rates), chosen so that
each style's effect is visible within a short interview, and documented in
docs/simulation.md ("The simulated patient"):

- *reserved* ("brief, vague, or evasive answers", "require more prompting and encouragement
  to open up"): deeper fields need ``RESERVED_DEPTH_TRUST`` trust per level instead of
  ``DEPTH_TRUST``, and answers are cut to their first sentence.
- *tangent* ("start answering a question but quickly veer off", "must not return back to
  topic"): with probability ``TANGENT_SKIP`` it veers off before answering (nothing
  disclosed), with ``TANGENT_DRIFT`` it gives the first clause and then veers off.
- *pleasing* ("minimize or downplay your own concerns", "avoid expressing disagreement",
  "agree with the therapist's statements or suggestions readily"): below
  ``PLEASING_HONEST_TRUST`` it minimises its emotions and behaviour instead of stating them,
  and it agrees with anything that is not a question about its model.
- *upset* ("anger or resistance", "difficulty trusting the therapist", "feel better as the
  session goes when you feel more trust"): trust grows at ``UPSET_TRUST_GAIN`` of the usual
  rate, it refuses every field below ``UPSET_OPEN_TRUST``, and challenges the question below
  ``UPSET_CALM_TRUST``.
- *verbose* ("elaborate on personal experiences, thoughts, and feelings extensively"): it
  also volunteers the next field of the situation → thought → emotion → behaviour chain
  when trust allows it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEPTH_TRUST",
    "FIELD_DEPTH",
    "OWN_DESCRIPTIONS",
    "PLEASING_HONEST_TRUST",
    "RESERVED_DEPTH_TRUST",
    "STYLES",
    "STYLE_MODELS",
    "TANGENT_DRIFT",
    "TANGENT_SKIP",
    "TRUST_PER_EMPATHY",
    "TRUST_PER_RAPPORT",
    "TRUST_PER_TURN",
    "UPSET_CALM_TRUST",
    "UPSET_OPEN_TRUST",
    "UPSET_TRUST_GAIN",
    "StyleModel",
]

STYLES = ("plain", "upset", "verbose", "reserved", "tangent", "pleasing")

TRUST_PER_TURN = 0.5
"""Trust every therapist turn earns: the patient is being listened to."""
TRUST_PER_EMPATHY = 0.5
"""Extra trust when the classifier reads a sentence of the turn as empathy/validation (so an
empathic turn earns twice a plain one, the rate of the model before issue 10)."""
TRUST_PER_RAPPORT = 0.25
"""Extra trust for a greeting or small talk: half of what validation earns."""
FIELD_DEPTH = {
    "situation": 0,
    "automatic_thought": 0,
    "emotion": 0,
    "behavior": 0,
    "coping": 1,
    "history": 1,
    "intermediate_belief": 2,
    "core_belief": 3,
}
"""How deep each field lies in Beck's cognitive conceptualization: surface (the situation and
its reactions), then the patterns and past, then the rules, then the core beliefs."""
DEPTH_TRUST = 1.0
"""Trust needed per level of depth: core beliefs need 3, i.e. about three empathic turns."""
RESERVED_DEPTH_TRUST = 1.5
"""A reserved patient needs half as much again before each deeper level."""
TANGENT_SKIP = 0.25
"""P(a tangential patient veers off before answering at all)."""
TANGENT_DRIFT = 0.5
"""P(it answers the first clause and then veers off); otherwise it answers normally."""
PLEASING_HONEST_TRUST = 3.0
"""Below this trust a pleasing patient minimises its emotions and behaviour (3: the trust
core beliefs need, so only after rapport is built does it admit how bad things were)."""
UPSET_TRUST_GAIN = 0.5
"""An upset patient's trust grows at half the usual rate."""
UPSET_OPEN_TRUST = 1.0
"""Below this trust an upset patient refuses to answer at all."""
UPSET_CALM_TRUST = 3.0
"""Below this trust an upset patient challenges the question before answering."""


@dataclass(frozen=True)
class StyleModel:
    """The disclosure parameters of one style (see the module docstring for each).

    Attributes:
        trust_gain: Multiplies every trust increment.
        depth_trust: Trust needed per level of ``FIELD_DEPTH``.
        open_trust: Below it, every field is refused.
        calm_trust: Below it, answers start with a challenge.
        brief: Answers are cut to their first sentence.
        skip: P(veering off before answering).
        drift: P(answering the first clause, then veering off).
        honest_trust: Below it, emotions and behaviour are minimised.
        agrees: Agrees with statements and suggestions that ask nothing of its model.
        volunteers: Also tells the next field of the situation chain.
    """

    trust_gain: float = 1.0
    depth_trust: float = DEPTH_TRUST
    open_trust: float = 0.0
    calm_trust: float = 0.0
    brief: bool = False
    skip: float = 0.0
    drift: float = 0.0
    honest_trust: float = 0.0
    agrees: bool = False
    volunteers: bool = False


STYLE_MODELS = {
    "plain": StyleModel(),
    "upset": StyleModel(
        trust_gain=UPSET_TRUST_GAIN, open_trust=UPSET_OPEN_TRUST, calm_trust=UPSET_CALM_TRUST
    ),
    "verbose": StyleModel(volunteers=True),
    "reserved": StyleModel(depth_trust=RESERVED_DEPTH_TRUST, brief=True),
    "tangent": StyleModel(skip=TANGENT_SKIP, drift=TANGENT_DRIFT),
    "pleasing": StyleModel(honest_trust=PLEASING_HONEST_TRUST, agrees=True),
}

OWN_DESCRIPTIONS = {
    "plain": "Answers what is asked, once trust allows it.",
    "upset": "Resists at first, challenges questions, and trusts slowly.",
    "verbose": "Says more than was asked, running from one part of the story to the next.",
    "reserved": "Gives short answers and needs more trust before deeper beliefs.",
    "tangent": "Starts to answer, then drifts to something unrelated.",
    "pleasing": "Plays down feelings and agrees with whatever is suggested.",
}
"""The project's own one-line summary of each style, for trainers, used when the
taxonomy file (with the paper's trainer-facing descriptions) is not given."""
