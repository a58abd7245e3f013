"""agents: the machinery. Runtime, agent graph, budgets, model clients, run store and CLI.

from agents import AgentGraph, Budget, FunctionAgent, Runtime
"""

from agents.agent import Agent, FunctionAgent, RunContext
from agents.budget import Budget
from agents.graph import AgentGraph, Edge
from agents.human import HumanAgent, InputSource, QueueInput, TerminalInput
from agents.runtime import ReplayReport, RunResult, Runtime
from agents.store import RunStore

__all__ = [
    "Agent",
    "AgentGraph",
    "Budget",
    "Edge",
    "FunctionAgent",
    "HumanAgent",
    "InputSource",
    "QueueInput",
    "ReplayReport",
    "RunContext",
    "RunResult",
    "RunStore",
    "Runtime",
    "TerminalInput",
]
