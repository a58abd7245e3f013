"""Minds: what runs a persona's turns. Simulated minds need no LLM (see docs/simulation.md)."""

from personas.minds.learner import (
    PROFILES,
    Appraisal,
    LearnerItem,
    LearnerProfile,
    Response,
    SimulatedLearner,
)
from personas.minds.mental_model import BKTMentalModel, brier_score

__all__ = [
    "PROFILES",
    "Appraisal",
    "BKTMentalModel",
    "LearnerItem",
    "LearnerProfile",
    "Response",
    "SimulatedLearner",
    "brier_score",
]
