"""Minds: what runs a persona's turns. Simulated minds need no LLM (see docs/simulation.md)."""

from personas.minds.belief import MentalParams
from personas.minds.learner import (
    PROFILES,
    LearnerItem,
    LearnerProfile,
    Response,
    SimulatedLearner,
)
from personas.minds.mental_fit import fit_mental_params
from personas.minds.mental_model import EstimatingMentalModel, Seen, Told, brier_score
from personas.minds.reading import Reading, ReadingModel, ReadingParams

__all__ = [
    "PROFILES",
    "EstimatingMentalModel",
    "LearnerItem",
    "LearnerProfile",
    "MentalParams",
    "Reading",
    "ReadingModel",
    "ReadingParams",
    "Response",
    "Seen",
    "SimulatedLearner",
    "Told",
    "brier_score",
    "fit_mental_params",
]
