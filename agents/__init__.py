"""agents: the machinery. Runtime, agent graph, budgets, model clients, run store and CLI.

from agents import AgentGraph, Budget, FunctionAgent, Runtime
"""

from agents.agent import Agent, FunctionAgent, RunContext, StatefulAgent
from agents.budget import Budget
from agents.graph import AgentGraph, Edge
from agents.human import HumanAgent, InputSource, QueueInput, TerminalInput
from agents.meta import (
    Expert,
    ExpertRegistry,
    LLMPlanner,
    MetaAgent,
    RuleBasedPlanner,
    SubTask,
    TaskPlan,
    load_experts,
)
from agents.runtime import ReplayReport, RunResult, Runtime
from agents.store import RunStore, SqlRunStore

__all__ = [
    "Agent",
    "AgentGraph",
    "Budget",
    "Edge",
    "Expert",
    "ExpertRegistry",
    "FunctionAgent",
    "HumanAgent",
    "InputSource",
    "LLMPlanner",
    "MetaAgent",
    "QueueInput",
    "ReplayReport",
    "RuleBasedPlanner",
    "RunContext",
    "RunResult",
    "RunStore",
    "Runtime",
    "SqlRunStore",
    "StatefulAgent",
    "SubTask",
    "TaskPlan",
    "TerminalInput",
    "load_experts",
]
