"""The meta-agent (PEOA) and its expert registry.

An action generator (rule-based or LLM) splits a task into sub-tasks and picks an expert
for each; execution is iterative, with errors fed back within a bound.
"""

from agents.meta.agent import LLMPlanner, MetaAgent, RuleBasedPlanner, SubTask, TaskPlan
from agents.meta.experts import Expert, ExpertRegistry, load_experts

__all__ = [
    "Expert",
    "ExpertRegistry",
    "LLMPlanner",
    "MetaAgent",
    "RuleBasedPlanner",
    "SubTask",
    "TaskPlan",
    "load_experts",
]
