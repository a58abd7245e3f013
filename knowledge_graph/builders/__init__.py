"""Builders: graphs from the shipped sample curriculum and from the real data sets."""

from knowledge_graph.builders.cbt import cbt_graph, load_profiles, sample_patient_graph
from knowledge_graph.builders.curriculum import (
    CURRICULUM_EDGES,
    CURRICULUM_LABELS,
    curriculum_graph,
    sample_curriculum,
)
from knowledge_graph.builders.data import DATA_ENV, data_file
from knowledge_graph.builders.gsm8k import (
    TAGS,
    gsm8k_graph,
    load_gsm8k,
    tag_distribution,
    tag_solution,
)
from knowledge_graph.builders.misconceptions import load_misconception_records, misconception_graph

__all__ = [
    "CURRICULUM_EDGES",
    "CURRICULUM_LABELS",
    "DATA_ENV",
    "TAGS",
    "cbt_graph",
    "curriculum_graph",
    "data_file",
    "gsm8k_graph",
    "load_gsm8k",
    "load_misconception_records",
    "load_profiles",
    "misconception_graph",
    "sample_curriculum",
    "sample_patient_graph",
    "tag_distribution",
    "tag_solution",
]
