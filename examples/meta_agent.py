"""A meta-agent with two experts and a calculator. The first expert is down; the
meta-agent feeds the error back, regenerates the step with the fallback expert, checks the
result with its reviewer and answers with provenance. Offline: the experts are function
models (in production, ``load_experts("experts.yaml")`` and ``registry.client(name)``)."""

import asyncio

from agents import AgentGraph, Expert, ExpertRegistry, MetaAgent, RuleBasedPlanner, Runtime
from agents.models import FunctionModel, ModelRequest
from knowledge_graph.builders import sample_curriculum
from knowledge_graph.retrieval import Retriever
from personas import ToolRegistry, calculator_tool, retrieval_tool
from protocols import ModelHTTPError, TaskAssignment


def down(request: ModelRequest) -> str:
    raise ModelHTTPError("fractions-a answered HTTP 503", status=503, body="overloaded")


def explain(request: ModelRequest) -> str:
    value = request.messages[-1].content.split("calculate: ")[1].splitlines()[0]
    return f"Rewrite both over sixths: 2/6 + 1/6 = 3/6, so the sum is {value}."


async def main() -> None:
    backend = {"kind": "openai", "base_url": "http://localhost:8000/v1", "model": "tutor"}
    experts = ExpertRegistry(
        [
            Expert(name="fractions-a", skills=("fraction_addition",), backend=backend),
            Expert(name="fractions-b", skills=("fraction_addition",), backend=backend),
        ]
    )
    tools = ToolRegistry([retrieval_tool(Retriever(sample_curriculum())), calculator_tool()])
    meta = MetaAgent(
        "meta",
        RuleBasedPlanner(experts),
        experts,
        {"fractions-a": FunctionModel(down), "fractions-b": FunctionModel(explain)},
        tools,
    )
    task = TaskAssignment(
        to="meta",
        task="explain",
        skills=("fraction_addition",),
        inputs={
            "question": "What is 1/3 + 1/6?",
            "student_answer": "2/9",
            "expression": "Fraction(1, 3) + Fraction(1, 6)",
        },
    )
    result = await Runtime().run(AgentGraph().add(meta), task)
    answer = result.messages[-2]
    print(answer.output)  # type: ignore[union-attr]
    for line in answer.provenance:  # type: ignore[union-attr]
        print(" -", line)


if __name__ == "__main__":
    asyncio.run(main())
