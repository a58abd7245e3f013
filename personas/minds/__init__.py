"""Minds: what runs a persona's turns. Simulated minds need no LLM (see docs/simulation.md)."""

from personas.minds.learner import (
    PROFILES,
    LearnerItem,
    LearnerProfile,
    Response,
    SimulatedLearner,
)
from personas.minds.mental_model import BKTMentalModel, brier_score
from personas.minds.reading import Reading, ReadingModel, ReadingParams

__all__ = [
    "PROFILES",
    "BKTMentalModel",
    "LearnerItem",
    "LearnerProfile",
    "Reading",
    "ReadingModel",
    "ReadingParams",
    "Response",
    "SimulatedLearner",
    "brier_score",
]
