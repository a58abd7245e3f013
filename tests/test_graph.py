"""AgentGraph: validated when built, errors name the node or edge (and file:line for YAML)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agents import AgentGraph, FunctionAgent
from protocols import Answer, ConfigError, Explanation, GraphBuildError, Question


def agent(name: str, emits: list[type] | None = None) -> FunctionAgent:
    return FunctionAgent(name, lambda m, c: None, emits=emits)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "graph.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_mermaid_snapshot_of_a_teacher_reviewer_student_graph() -> None:
    teacher, reviewer, student = agent("teacher"), agent("reviewer"), agent("student")
    graph = (
        AgentGraph()
        .edge(teacher, reviewer, kinds=[Explanation])
        .edge(reviewer, student, kinds=[Explanation])
        .edge(student, teacher, kinds=[Answer, Question])
    )
    assert graph.to_mermaid() == textwrap.dedent("""\
        flowchart LR
            teacher["teacher"]
            reviewer["reviewer"]
            student["student"]
            teacher -->|Explanation| reviewer
            reviewer -->|Explanation| student
            student -->|Answer, Question| teacher""")


def test_edges_merge_their_kinds_and_route_by_kind() -> None:
    a, b, c = agent("a"), agent("b"), agent("c")
    graph = AgentGraph().edge(a, b, kinds=[Question]).edge(a, b, kinds=["Answer"]).edge(a, c)
    assert graph.accepts("a", "b", "Answer") and graph.accepts("a", "b", "Question")
    assert not graph.accepts("a", "b", "Hint") and not graph.accepts("b", "a", "Answer")
    assert graph.successors("a", "Hint") == ["c"]
    assert graph.successors("a", "Question") == ["b", "c"]


def test_python_builder_errors_name_the_offending_agent_or_kind() -> None:
    a = agent("teacher")
    with pytest.raises(
        GraphBuildError, match=r"unknown agent 'studnet'\. Did you mean 'student'\?"
    ):
        AgentGraph().add(a, agent("student")).edge("teacher", "studnet")
    with pytest.raises(
        GraphBuildError, match=r"unknown message kind 'Explaination'\. Did you mean 'Explanation'\?"
    ):
        AgentGraph().edge(a, agent("s"), kinds=["Explaination"])
    with pytest.raises(GraphBuildError, match="two different agents are both named 'teacher'"):
        AgentGraph().add(a, agent("teacher"))
    with pytest.raises(GraphBuildError, match="'quiet' never sends Explanation"):
        AgentGraph().edge(agent("quiet", emits=[Answer]), a, kinds=[Explanation])
    with pytest.raises(GraphBuildError, match="reserved"):
        AgentGraph().add(agent("user"))
    with pytest.raises(GraphBuildError, match="no agents"):
        AgentGraph().validate()


def test_yaml_graph_loads_factories_and_given_agents(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        agents:
          teacher: {}
          student: {factory: "agents.demo.lesson:make_demo_agent", args: {profile: strong}}
        edges:
          - {from: teacher, to: student, kinds: [Question, Explanation]}
          - {from: student, to: teacher, kinds: [Answer]}
        """,
    )
    graph = AgentGraph.from_yaml(path, agents={"teacher": agent("teacher")})
    assert list(graph.agents) == ["teacher", "student"]
    assert type(graph.agents["student"]).__name__ == "SimulatedStudent"
    assert graph.accepts("teacher", "student", "Explanation")
    assert graph.source == {"yaml": str(path.resolve())}


def test_a_typo_in_an_agent_name_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        agents:
          teacher: {}
          student: {}
        edges:
          - {from: teacher, to: student, kinds: [Question]}
          - from: student
            to: teahcer
            kinds: [Answer]
        """,
    )
    given = {"teacher": agent("teacher"), "student": agent("student")}
    with pytest.raises(GraphBuildError) as info:
        AgentGraph.from_yaml(path, agents=given)
    assert str(info.value) == (
        f"{path}:7: edges.1.to: unknown agent 'teahcer'. Did you mean 'teacher'? "
        "Declared agents: student, teacher."
    )


def test_an_unknown_message_kind_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        agents: {teacher: {}, student: {}}
        edges:
          - from: teacher
            to: student
            kinds:
              - Question
              - Explaination
        """,
    )
    with pytest.raises(GraphBuildError) as info:
        AgentGraph.from_yaml(
            path, agents={"teacher": agent("teacher"), "student": agent("student")}
        )
    assert str(info.value).startswith(
        f"{path}:7: edges.0.kinds.1: unknown message kind 'Explaination'. "
        "Did you mean 'Explanation'?"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("agents: {a: {}}\nedgse: []\n", ":2: edgse: unknown key 'edgse'. Did you mean 'edges'?"),
        ("agents: {a: {}}\n", ":1: agents.a: agent 'a' has no 'factory' and was not passed"),
        ("agents: {a: {factory: 'no.such:thing'}}\n", ":1: agents.a.factory: cannot import"),
        ("agents: {a: {}}\nedges:\n  - {from: a}\n", ":3: edges.0: an edge needs 'from' and 'to'"),
        (
            "agents: {a: {}}\nedges:\n  - {from: a, to: a, kind: [Answer]}\n",
            ":3: edges.0.kind: unknown edge key",
        ),
    ],
)
def test_other_yaml_mistakes(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(text)
    given = {} if "no 'factory'" in expected else {"a": agent("a")}
    with pytest.raises(GraphBuildError) as info:
        AgentGraph.from_yaml(path, agents=given)
    assert str(info.value).startswith(f"{path}{expected}")


def test_broken_yaml_syntax_is_a_config_error_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("agents:\n  a: {}\nedges: [\n  {from: a, to: a\n")
    with pytest.raises(ConfigError, match=rf"^{path}:\d+: not valid YAML"):
        AgentGraph.from_yaml(path)
    with pytest.raises(ConfigError, match="cannot read the file"):
        AgentGraph.from_yaml(tmp_path / "missing.yaml")


FACTORY = "agents.demo.lesson:make_demo_agent"


def test_kinds_may_be_one_kind_instead_of_a_list(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        agents: {teacher: {}, student: {}}
        edges:
          - {from: teacher, to: student, kinds: Question}
          - {from: student, to: teacher, kinds: [Answer]}
        """,
    )
    given = {"teacher": agent("teacher"), "student": agent("student")}
    graph = AgentGraph.from_yaml(path, agents=given)
    assert [(e.source, e.target, sorted(e.kinds)) for e in graph.edges()] == [
        ("teacher", "student", ["Question"]),
        ("student", "teacher", ["Answer"]),
    ]
    python = AgentGraph().edge(given["teacher"], given["student"], kinds=Question)
    python.edge("student", "teacher", kinds="Answer")
    assert python.to_mermaid() == graph.to_mermaid()
    path.write_text(path.read_text().replace("kinds: Question", "kinds: {Question: 1}"))
    with pytest.raises(GraphBuildError) as info:
        AgentGraph.from_yaml(path, agents=given)
    assert str(info.value) == (
        f"{path}:3: edges.0.kinds: expected a kind or a list of kinds, got {{'Question': 1}}"
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            f"{{factory: '{FACTORY}', args: {{level: 2}}}}",
            f":2: agents.a.factory: {FACTORY}(name: 'str', profile: 'str' = 'novice', "
            "seed: 'int' = 0) -> 'SimulatedStudent' cannot be called with name=..., level=...: "
            "got an unexpected keyword argument 'level'; fix 'args' or the factory",
        ),
        (
            "{factory: 'os:getcwd'}",
            ":2: agents.a.factory: os:getcwd() cannot be called with name=...: got an "
            "unexpected keyword argument 'name'; fix 'args' or the factory",
        ),
        (
            "{factory: 'builtins:dict'}",
            ":2: agents.a.factory: 'builtins:dict' returned {'name': 'a'}, not an agent; a "
            "factory must return an object with a 'name' and an async handle(message, ctx) "
            "method",
        ),
        (
            "{factory: 'os:sep'}",
            ":2: agents.a.factory: 'os:sep' is '/', not a callable",
        ),
        (
            f"{{factory: '{FACTORY}', args: [strong]}}",
            ":2: agents.a.args: expected a mapping of keyword arguments, got ['strong']",
        ),
    ],
)
def test_a_factory_that_cannot_make_the_agent_is_a_one_line_error(
    tmp_path: Path, spec: str, expected: str
) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(f"agents:\n  a: {spec}\n")
    with pytest.raises(GraphBuildError) as info:
        AgentGraph.from_yaml(path)
    assert str(info.value) == f"{path}{expected}"
