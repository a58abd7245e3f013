"""The meta-agent (PEOA) and its expert registry.

An action generator (rule-based or LLM) splits a task into sub-tasks and picks an expert
for each; execution is iterative, with errors fed back within a bound.
"""

from agents.meta.agent import MetaAgent, RuleBasedPlanner
from agents.meta.experts import Expert, ExpertRegistry, load_experts
from agents.meta.planner import LLMPlanner, Regenerated, SubTask, TaskPlan

__all__ = [
    "Expert",
    "ExpertRegistry",
    "LLMPlanner",
    "MetaAgent",
    "Regenerated",
    "RuleBasedPlanner",
    "SubTask",
    "TaskPlan",
    "load_experts",
]
