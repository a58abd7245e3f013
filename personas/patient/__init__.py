"""The simulated CBT patient (PATIENT-Ψ): it answers the intent of a question, discloses by
style and trust, and scores a trainee's written cognitive model. A simulation, not an LLM.

- ``intent``: which field a turn asks about (``IntentClassifier``).
- ``styles``: the six styles' disclosure parameters (``StyleModel``, named constants).
- ``session``: the patient and one interview (``SimulatedPatient``, ``PatientSession``).
- ``scoring``: ``score_cognitive_model``.
- ``taxonomy``: the PATIENT-Ψ option lists and style texts, read by path.
"""

from personas.patient.classifier import ExampleClassifier, Vote, embeddings_installed
from personas.patient.intent import FIELDS, INTENTS, Intent, IntentClassifier, load_examples
from personas.patient.scoring import TextSimilarity, copied_fraction, score_cognitive_model
from personas.patient.session import PatientSession, SimulatedPatient
from personas.patient.styles import STYLE_MODELS, STYLES, StyleModel
from personas.patient.taxonomy import CCDTaxonomy, load_taxonomy

__all__ = [
    "FIELDS",
    "INTENTS",
    "STYLES",
    "STYLE_MODELS",
    "CCDTaxonomy",
    "ExampleClassifier",
    "Intent",
    "IntentClassifier",
    "PatientSession",
    "SimulatedPatient",
    "StyleModel",
    "TextSimilarity",
    "Vote",
    "copied_fraction",
    "embeddings_installed",
    "load_examples",
    "load_taxonomy",
    "score_cognitive_model",
]
