"""The classroom as an agent graph: the director, the teacher, the optional reviewer and
teaching assistant, the classmates and the students, with typed edges for the classroom
protocol (``agents.classroom.director``). Every speaking role is a ``Persona`` on a
simulated mind, or on an ``LLMMind`` guided by that simulated mind
(``personas.GuidedLLMMind``); the students are ``SimulatedStudent`` s, and a real person
joins as a ``HumanAgent``.
"""

from __future__ import annotations

from typing import Any

from agents.classroom.config import PROFILE_MISCONCEPTIONS, ClassroomConfig
from agents.classroom.director import Director
from agents.classroom.script import lesson_script
from agents.graph import AgentGraph
from agents.human import HumanAgent, InputSource, TerminalInput
from agents.models import OpenAIChatClient
from knowledge_graph import GraphStore
from knowledge_graph.builders import curriculum_graph, sample_curriculum
from knowledge_graph.retrieval import Retriever
from personas import (
    PROFILES,
    LLMMind,
    Persona,
    ReadingModel,
    RubricReviewer,
    SimulatedStudent,
    builtin_persona,
    learner_items,
)
from personas.classmates import AssistantMind, ClassmateMind
from personas.classroom_teacher import ClassroomTeacherMind
from personas.guided import Guide, GuidedLLMMind
from personas.persona import Kind, Mind
from protocols import (
    Answer,
    Explanation,
    LessonStep,
    ModelClient,
    Question,
    Remark,
    Review,
    TaskAssignment,
)

__all__ = [
    "build_classroom",
    "build_classroom_graph",
    "classroom_kg",
    "classroom_model",
    "start_message",
]

DIRECTOR = "director"
TEACHER = "teacher"
ASSISTANT = "teaching_assistant"
REVIEWER = "reviewer"


def classroom_kg(config: ClassroomConfig) -> GraphStore:
    """The config's curriculum graph (the sample curriculum when it names none)."""
    return curriculum_graph(config.curriculum) if config.curriculum else sample_curriculum()


def classroom_model(config: ClassroomConfig) -> ModelClient | None:
    """An ``OpenAIChatClient`` on ``config.model`` (its key from the environment), or None
    when the config names no endpoint."""
    if config.model is None:
        return None
    endpoint = config.model
    return OpenAIChatClient(endpoint.base_url, endpoint.model, api_key=endpoint.api_key())


def start_message(config: ClassroomConfig) -> TaskAssignment:
    """The run's first message: the lesson, to the director."""
    return TaskAssignment(to=DIRECTOR, task=f"teach {config.lesson}")


def _persona(
    role: str,
    guide: Guide,
    llm: bool,
    model: ModelClient | None,
    kinds: list[Kind],
    knowledge: Retriever,
) -> Persona:
    """The role's built-in persona on its simulated mind, or, with a model, on an
    ``LLMMind`` guided by it, with the knowledge graph as context."""
    if llm and model is not None:
        mind: Mind = GuidedLLMMind(LLMMind(model), guide)
        return Persona(builtin_persona(role), mind, kinds=kinds, knowledge=knowledge)
    return Persona(builtin_persona(role), guide, kinds=kinds)  # type: ignore[arg-type]


def _students(
    config: ClassroomConfig, kg: GraphStore, reading: ReadingModel
) -> list[SimulatedStudent]:
    items = learner_items(kg)
    exhibited = {m for i in items.values() for m in i.misconception_answers}
    students = []
    for spec in config.students:
        held = spec.misconceptions
        if held is None:  # the profile's defaults, where this curriculum has them
            held = tuple(m for m in PROFILE_MISCONCEPTIONS.get(spec.profile, ()) if m in exhibited)
        students.append(
            SimulatedStudent(
                spec.name,
                kg,
                PROFILES[spec.profile],
                seed=config.seed,
                misconceptions=held,
                reading=reading,
                items=items,
                report_truth=True,
            )
        )
    return students


def build_classroom(
    config: ClassroomConfig,
    *,
    model: ModelClient | None = None,
    human_input: InputSource | None = None,
    kg: GraphStore | None = None,
    misleading: bool = False,
) -> AgentGraph:
    """The classroom graph of ``config``; rebuildable from its ``source``
    (``lyceum runs replay``).

    Args:
        config: The class, the lesson and the limits.
        model: The client ``llm`` minds call; by default ``classroom_model(config)``.
        human_input: Where the human student's answers come from (the terminal by
            default), when ``config.human`` is set.
        kg: The curriculum; by default ``classroom_kg(config)``.
        misleading: A misaligned teacher (states misconceptions as rules), for testing a
            reviewer gate.

    Raises:
        UserError: An unknown lesson (naming the known ones), or a student's
            misconception that no item exhibits.
    """
    kg = kg if kg is not None else classroom_kg(config)
    script = lesson_script(kg, config.lesson)
    llm = config.model is not None
    if model is None and not config.simulated():
        model = classroom_model(config)
    reading = ReadingModel(kg)
    students = _students(config, kg, reading)
    names = [s.name for s in students] + ([config.human] if config.human else [])
    human = (
        HumanAgent(
            config.human,
            human_input or TerminalInput(),
            questions_only=True,
            on_timeout="default",
            default_reply="I don't know",
        )
        if config.human
        else None
    )
    guide = ClassroomTeacherMind(
        kg, names, learner_items(kg), reading=reading, misleading=misleading
    )
    retriever = Retriever(kg)  # indexes the graph only when an LLM persona first asks
    on_llm = {
        r: config.minds.of(r, llm) == "llm" for r in ("teacher", "teaching_assistant", "classmates")
    }
    teacher = _persona(
        TEACHER, guide, on_llm["teacher"], model, ["question", "explanation", "remark"], retriever
    )
    classmates = [
        _persona(
            role,
            ClassmateMind(kg, role),
            on_llm["classmates"],
            model,
            ["remark", "question"],
            retriever,
        )
        for role in config.classmates
    ]
    assistant = (
        _persona(
            ASSISTANT,
            AssistantMind(kg),
            on_llm["teaching_assistant"],
            model,
            ["explanation", "remark"],
            retriever,
        )
        if config.teaching_assistant
        else None
    )
    reviewer = RubricReviewer(REVIEWER, [*names, DIRECTOR], kg=kg) if config.reviewer else None
    director = Director(
        DIRECTOR,
        kg,
        script,
        names,
        turns=config.turns,
        classmates=[c.name for c in classmates],
        assistant=assistant.name if assistant else None,
        teacher=TEACHER,
    )
    learners: list[Any] = [*students, *([human] if human else [])]
    graph = AgentGraph().add(director, teacher)
    if reviewer:
        graph.add(reviewer)
    if assistant:
        graph.add(assistant)
    graph.add(*classmates, *learners)
    _edges(graph, learners, classmates, assistant, reviewer)
    kwargs: dict[str, Any] = {"config": config.model_dump(mode="json")}
    if misleading:
        kwargs["misleading"] = True
    graph.source = {"factory": "agents.classroom.graph:build_classroom_graph", "kwargs": kwargs}
    return graph


def _edges(
    graph: AgentGraph,
    learners: list[Any],
    classmates: list[Persona],
    assistant: Persona | None,
    reviewer: RubricReviewer | None,
) -> None:
    """The classroom protocol's typed edges (see ``agents.classroom.director``)."""
    graph.edge(DIRECTOR, TEACHER, kinds=[TaskAssignment])
    explains_to = REVIEWER if reviewer else None
    if reviewer:
        graph.edge(TEACHER, REVIEWER, kinds=[Explanation])
        graph.edge(REVIEWER, TEACHER, kinds=[Review])
        graph.edge(REVIEWER, DIRECTOR, kinds=[Explanation])
    graph.edge(TEACHER, DIRECTOR, kinds=[Remark] if explains_to else [Remark, Explanation])
    for mate in classmates:
        graph.edge(DIRECTOR, mate, kinds=[TaskAssignment])
        graph.edge(mate, TEACHER, kinds=[Question])
        graph.edge(mate, DIRECTOR, kinds=[Remark])
    if assistant:
        graph.edge(DIRECTOR, assistant, kinds=[TaskAssignment])
        graph.edge(assistant, DIRECTOR, kinds=[Explanation, Remark])
    for learner in learners:
        graph.edge(DIRECTOR, learner, kinds=[LessonStep, Question])
        graph.edge(learner, DIRECTOR, kinds=[Answer])
        graph.edge(learner, TEACHER, kinds=[Answer])
        graph.edge(
            TEACHER,
            learner,
            kinds=[Question, Remark] if explains_to else [Question, Remark, Explanation],
        )
        if reviewer:
            graph.edge(REVIEWER, learner, kinds=[Explanation])
        for mate in classmates:
            graph.edge(mate, learner, kinds=[Remark])
        if assistant:
            graph.edge(assistant, learner, kinds=[Explanation, Remark])


def build_classroom_graph(config: dict[str, Any], misleading: bool = False) -> AgentGraph:
    """``build_classroom`` from a config as plain JSON (a graph's recorded ``source``)."""
    return build_classroom(ClassroomConfig.model_validate(config), misleading=misleading)
