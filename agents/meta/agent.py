"""The meta-agent (PEOA): split a task into typed sub-tasks, give each to an expert,
persona or tool, execute with iterative error handling, verify, and answer with
provenance.

- The **action generator** makes the plan: ``RuleBasedPlanner`` for the task types lyceum
  ships (offline), or ``LLMPlanner`` (a structured plan from a model).
- **Execution** runs the sub-tasks in order. A failing step's error is fed back to the
  generator, which regenerates the step (for example with the fallback expert), at most
  ``max_attempts`` times.
- A **reviewer** verifies the final text; the ``TaskResult`` lists who did what and which
  knowledge-graph nodes were used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel

from agents.agent import RunContext
from agents.meta.experts import ExpertRegistry
from agents.meta.planner import LLMPlanner, SubTask, TaskPlan
from agents.models import ModelClient, ModelRequest
from knowledge_graph.retrieval import Retriever
from personas.prompting import MetaExplainVars, MetaStepVars, render_prompt
from personas.reviewer import review_text
from personas.tools import Calculation, Retrieved, ToolRegistry
from protocols import (
    Envelope,
    LyceumError,
    Message,
    TaskAssignment,
    TaskResult,
    UserError,
)

__all__ = ["LLMPlanner", "MetaAgent", "RuleBasedPlanner", "SubTask", "TaskPlan"]


class ActionGenerator(Protocol):
    """Makes the plan for a task, and rewrites a step that failed (None: give up)."""

    async def plan(self, task: TaskAssignment, ctx: RunContext) -> TaskPlan: ...

    async def regenerate(
        self, step: SubTask, error: str, tried: Sequence[str], ctx: RunContext
    ) -> SubTask | None: ...


class RuleBasedPlanner:
    """Plans the shipped task type ``explain`` (inputs: ``question``, ``student_answer``,
    ``expression`` giving the correct value): retrieve the matching misconception, compute
    the right answer, have the expert for the task's skills explain."""

    def __init__(self, experts: ExpertRegistry) -> None:
        self.experts = experts

    async def plan(self, task: TaskAssignment, ctx: RunContext) -> TaskPlan:
        if task.task != "explain":
            raise UserError(
                f"the rule-based planner knows the task 'explain', not "
                f"{task.task!r}; use LLMPlanner for open tasks"
            )
        missing = [k for k in ("question", "student_answer", "expression") if k not in task.inputs]
        if missing:
            raise UserError(f"task 'explain' needs inputs {missing}")
        expert = self.experts.route(task.skills)
        return TaskPlan(
            subtasks=[
                SubTask(
                    id="retrieve",
                    kind="retrieve",
                    assignee="kg_retrieval",
                    instruction="find the misconception behind the answer",
                    inputs={
                        "query": f"{task.inputs['question']} {task.inputs['student_answer']}",
                        "k": 2,
                        "labels": ["Misconception"],
                    },
                ),
                SubTask(
                    id="calculate",
                    kind="calculate",
                    assignee="calculator",
                    instruction="compute the right answer exactly",
                    inputs={"code": task.inputs["expression"]},
                ),
                SubTask(
                    id="explain",
                    kind="explain",
                    assignee=expert.name,
                    skills=list(task.skills),
                    instruction=render_prompt(
                        "meta_explain",
                        MetaExplainVars(
                            question=str(task.inputs["question"]),
                            student_answer=str(task.inputs["student_answer"]),
                        ),
                    ),
                ),
            ]
        )

    async def regenerate(
        self, step: SubTask, error: str, tried: Sequence[str], ctx: RunContext
    ) -> SubTask | None:
        """Give an expert step to the next expert serving its skills; tools get no retry."""
        if step.kind != "explain":
            return None
        others = [
            e
            for e in self.experts.experts
            if e.name not in tried and set(e.skills) & set(step.skills)
        ]
        if not others:
            return None
        return step.model_copy(update={"assignee": others[0].name})


class MetaAgent:
    """Routes a ``TaskAssignment`` through experts and tools and answers with a
    ``TaskResult`` carrying provenance.

    Args:
        name: The agent name.
        planner: The action generator.
        experts: The registry used for routing.
        clients: A model client per expert name (e.g. ``registry.client(name)``).
        tools: Conceptual tools: ``kg_retrieval`` and ``calculator`` for the shipped plan.
        max_attempts: Attempts per step, the first included.
    """

    def __init__(
        self,
        name: str,
        planner: ActionGenerator,
        experts: ExpertRegistry,
        clients: Mapping[str, ModelClient],
        tools: ToolRegistry,
        *,
        retriever: Retriever | None = None,
        max_attempts: int = 3,
    ) -> None:
        if max_attempts < 1:
            raise UserError(f"max_attempts must be >= 1, got {max_attempts}")
        self.name = name
        self.planner = planner
        self.experts = experts
        self.clients = dict(clients)
        self.tools = tools
        self.retriever = retriever
        self.max_attempts = max_attempts
        self.emits = (TaskResult,)

    async def _run(
        self, step: SubTask, notes: list[str], ctx: RunContext
    ) -> tuple[str, tuple[str, ...]]:
        """Run one step: its text, and the knowledge-graph node ids it cited."""
        if step.kind == "explain":
            client = self.clients.get(step.assignee)
            if client is None:
                raise UserError(f"no model client for expert {step.assignee!r}")
            prompt = render_prompt(
                "meta_step", MetaStepVars(instruction=step.instruction, notes=notes)
            )
            settings = self.experts.get(step.assignee).generation  # the expert's own settings
            request = ModelRequest.of(
                prompt, max_tokens=settings.max_tokens, temperature=settings.temperature
            )
            return (await ctx.complete(client, request)).text, ()
        result = await self.tools.get(step.assignee).run(step.inputs, call_id=step.id, ctx=ctx)
        if result.error is not None:
            raise UserError(result.error)
        match result.output:
            case Retrieved(context=context, citations=citations):
                return context, citations
            case Calculation(value=value):
                return str(value), ()
            case BaseModel() as output:
                return output.model_dump_json(), ()
        return str(result.output), ()

    async def handle(self, message: Message, ctx: RunContext) -> Sequence[Envelope]:
        if not isinstance(message, TaskAssignment):
            return []
        plan = await self.planner.plan(message, ctx)
        provenance: list[str] = []
        notes: list[str] = []
        text = ""
        for step in plan.subtasks:
            tried: list[str] = []
            current: SubTask | None = step
            while current is not None:
                tried.append(current.assignee)
                try:
                    text, cited = await self._run(current, notes, ctx)
                except (LyceumError, ValueError) as exc:
                    provenance.append(f"{current.id}: {current.assignee} failed ({exc})")
                    current = (
                        await self.planner.regenerate(current, str(exc), tried, ctx)
                        if len(tried) < self.max_attempts
                        else None
                    )
                    if current is None:
                        return [
                            TaskResult(
                                to=message.sender,
                                task_id=message.id,
                                output=f"step {step.id!r} failed: {exc}",
                                success=False,
                                provenance=tuple(provenance),
                            )
                        ]
                    continue
                provenance.append(f"{current.id}: {current.assignee}")
                provenance.extend(f"kg:{node}" for node in cited[:3])
                notes.append(f"{current.id}: {text}")
                break
        issues = review_text(text, answer=None, is_hint=False, max_words=120)
        provenance.append("review: approved" if not issues else f"review: {'; '.join(issues)}")
        return [
            TaskResult(
                to=message.sender,
                task_id=message.id,
                output=text,
                success=not issues,
                provenance=tuple(provenance),
            )
        ]
