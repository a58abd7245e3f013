"""A custom persona in 15 lines: a spec and a mind (here a simulated one, no LLM)."""

import asyncio

from agents import AgentGraph, Runtime
from personas import Persona, PersonaSpec, Reply
from personas.persona import PlanOut
from personas.prompting import ThoughtVars
from protocols import Question


class EchoCoach:  # a Mind: think, plan, execute
    async def think(self, turn, ctx):
        return ThoughtVars(knowledge="asked a question", guideline="answer with a question")

    async def plan(self, turn, tools, ctx):
        return PlanOut(rationale="no tools needed")

    async def execute(self, turn, kinds, ctx):
        return Reply(kind="question", text=f"What do you already know about {turn.message.text}")


coach = Persona(PersonaSpec(name="coach", role="socratic_coach", mind="simulated"), EchoCoach())


async def main() -> None:
    result = await Runtime().run(AgentGraph().add(coach), Question(to="coach", text="ratios?"))
    print(result.messages[-2].text)  # type: ignore[union-attr]


if __name__ == "__main__":
    asyncio.run(main())
