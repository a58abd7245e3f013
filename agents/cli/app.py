"""The ``lyceum`` command line. Every command has ``--help``."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from agents.budget import Budget
from agents.classroom import ClassroomConfig, roster
from agents.cli.classroom import DEFAULT_OUT, classroom
from agents.cli.classroom_run import run_and_report
from agents.cli.db import db
from agents.cli.eval import eval_group
from agents.cli.kg import kg
from agents.cli.models import models
from agents.cli.options import (
    db_option,
    make_console,
    make_progress,
    otel_option,
    output_error,
    tracer_provider,
)
from agents.cli.rebuild import rebuild_graph
from agents.cli.render import render_message
from agents.cli.serve import serve
from agents.cli.ui import ui
from agents.graph import AgentGraph
from agents.runtime import Runtime
from agents.store import ModelCallRecord, RunRecord, SqlRunStore, resolve_db_url
from protocols import Event, LyceumError, MessageSent, UserError, json_schema
from protocols.secrets import mask_db_url, mask_url

__all__ = ["main"]

SIMULATION_NOTE = (
    "SIMULATION: no LLM and no model call. The teacher is a persona on a simulated mind "
    "(rules over the knowledge graph), a rubric reviewer checks its explanations and hints, "
    "and the students are simulated learners (Bayesian knowledge tracing with misconceptions) "
    "that read each explanation's text against the knowledge graph (a documented reading "
    "model), never its labels. These numbers describe the simulation, not LLMs."
)


class _Group(click.Group):
    """Shows lyceum errors from any command as one clear line and exits 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LyceumError as exc:
            click.echo(f"error: {_one_line(str(exc))}", err=True)
            ctx.exit(2)


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped, so that an error
    stays one line whatever value it shows."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lyceum")
def main() -> None:
    """lyceum: multi-agent LLM systems that teach and do expert work."""
    for stream in (sys.stdout, sys.stderr):
        # A path from the shell may hold bytes that are not UTF-8 (surrogateescape):
        # show them escaped instead of failing to print.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def _lesson_printer(console: Any, kg: Any, quiet: bool) -> Any:
    """An observer printing a lesson run's messages as they are sent (with the teacher's
    Think/Plan for the first wrong answer), or nothing when ``quiet``."""
    from agents.demo.summary import FirstWrongAnswer

    shown = FirstWrongAnswer(kg)

    def show(event: Event) -> None:
        if isinstance(event, MessageSent) and not quiet and shown.shows(event.message):
            console.print(
                "  " + render_message(event.message),
                markup=False,
                highlight=False,
                soft_wrap=True,
            )

    return show


@main.command()
@db_option
@click.option(
    "--students",
    type=click.IntRange(0, 64),
    default=4,
    show_default=True,
    help="Simulated students in the classroom; 0 skips the classroom.",
)
@click.option(
    "--turns",
    type=click.IntRange(1, 10_000),
    default=40,
    show_default=True,
    help="Classroom turns (floor-grants by the director).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="The folder the classroom's HTML report is written to.",
)
@click.option(
    "--profiles",
    default="novice,overconfident,strong",
    show_default=True,
    help="Comma-separated simulated-student profiles; one tutoring lesson each.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 10**9),
    default=0,
    show_default=True,
    help="Seed of the classroom and of the simulated students.",
)
@click.option("--quiet", is_flag=True, help="Print only the summaries, not the transcripts.")
@otel_option
def demo(
    db: str | None,
    students: int,
    turns: int,
    out: Path,
    profiles: str,
    seed: int,
    quiet: bool,
    otel: bool,
) -> None:
    """Run the offline demo. First a classroom (MAIC / SimClass): a director walks the
    fractions lesson, giving the floor to the teacher, the teaching assistant, four
    classmates and the simulated students; quizzes measure each student's mastery, and an
    HTML report shows it over time next to the teacher's estimate. Then a teacher persona
    tutors simulated students one by one, a rubric reviewer checking what it says.

    No network and no model: every mind is a simulation. Each run is written to the store
    and can be inspected with `lyceum runs show` and replayed with `lyceum runs replay`;
    the summaries are read back from the store.
    """
    from agents.demo import build_lesson_graph, start_message
    from agents.demo.summary import lesson_summary
    from knowledge_graph.builders import sample_curriculum
    from personas import PROFILES

    names = [p.strip() for p in profiles.split(",") if p.strip()]
    if not names:
        raise UserError(
            f"--profiles {profiles!r} names no profile; give one or more of "
            f"{', '.join(PROFILES)}, separated by commas"
        )
    for name in names:
        if name not in PROFILES:
            raise UserError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    if students:
        config = ClassroomConfig(students=tuple(roster(students)), turns=turns, seed=seed)
        run_and_report(
            config,
            db=db,
            out=out,
            console=make_console(),
            quiet=quiet,
            tracer_provider=tracer_provider(otel),
        )
    console = make_console()
    store = SqlRunStore(db)
    runtime = Runtime(store, tracer_provider=tracer_provider(otel))
    kg = sample_curriculum()
    console.print(f"[bold yellow]{SIMULATION_NOTE}[/]")
    run_ids: list[tuple[str, str]] = []
    with make_progress(console) as progress:
        task = progress.add_task("lessons", total=len(names))
        for i, name in enumerate(names):
            progress.console.rule(f"simulated student: {name} (seed {seed + i})")
            result = asyncio.run(
                runtime.run(
                    build_lesson_graph(name, seed=seed + i),
                    start_message(),
                    budget=Budget(turns=200, model_calls=50, seconds=60),
                    seed=seed + i,
                    observer=_lesson_printer(progress.console, kg, quiet),
                )
            )
            run_ids.append((name, result.run_id))
            progress.advance(task)
    table = Table(title="Demo summary (simulated students, not LLMs; read from the store)")
    for col in (
        "profile",
        "run id",
        "stop",
        "right at first try",
        "right in the end",
        "turns",
        "model calls",
        "reviews ok",
    ):
        table.add_column(col)
    for name, run_id in run_ids:
        row = lesson_summary(store, run_id, kg)
        table.add_row(
            name,
            row.run_id[:12],
            row.stop,
            f"{row.right_first}/{row.items}",
            f"{row.right_last}/{row.items}",
            str(row.turns),
            str(row.model_calls),
            f"{row.approved}/{row.reviews}",
        )
    console.print(table)
    console.print(
        f"Runs saved to {mask_db_url(resolve_db_url(db))}. Inspect one with "
        f"`lyceum runs show {run_ids[0][1][:12]}`, replay it with "
        f"`lyceum runs replay {run_ids[0][1][:12]}`."
    )


@main.command()
@click.option("--events", is_flag=True, help="Export the Event union instead of Message.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
def schema(events: bool, output: Path | None) -> None:
    """Export the JSON Schema of the Message (or Event) union."""
    text = json.dumps(json_schema("events" if events else "messages"), indent=2)
    if output is None:
        click.echo(text)
    else:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise output_error(output, exc) from None
        click.echo(f"wrote {output}")


@main.group()
def runs() -> None:
    """List, show and replay stored runs."""


def _status_style(status: str) -> str:
    return {"completed": "green", "running": "cyan", "error": "red", "interrupted": "magenta"}.get(
        status, "yellow"
    )


@runs.command("list")
@db_option
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=20,
    show_default=True,
    help="How many runs, newest first.",
)
def runs_list(db: str | None, limit: int) -> None:
    """List the newest runs."""
    records = SqlRunStore(db, read_only=True).list_runs(limit)
    if not records:
        click.echo(f"no runs in {mask_db_url(resolve_db_url(db))}; `lyceum demo` makes some")
        return
    table = Table()
    for col in ("run id", "created (UTC)", "status", "reason", "messages", "graph"):
        table.add_column(col)
    for r in records:
        source = (r.graph_source or {}).get("factory") or (r.graph_source or {}).get("yaml") or "-"
        # Stored text is data: Text() shows it as it is, never as Rich markup.
        table.add_row(
            Text(r.id[:12]),
            r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            Text(r.status, style=_status_style(r.status)),
            Text(r.stop_reason or "-"),
            str(r.message_count),
            Text(str(source)),
        )
    make_console().print(table)


@runs.command("show")
@click.argument("run_id")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the run and messages as JSON.")
def runs_show(run_id: str, db: str | None, as_json: bool) -> None:
    """Show one run: status, budget, usage and the whole transcript."""
    store = SqlRunStore(db, read_only=True)
    record = store.get_run(run_id)
    messages = store.messages(record.id)
    calls = store.model_calls(record.id)
    if as_json:
        out = record.model_dump(mode="json")
        out["messages"] = [m.model_dump(mode="json") for m in messages]
        out["model_calls"] = [c.model_dump(mode="json") for c in calls]
        click.echo(json.dumps(out, indent=2))
        return
    _print_run(record, calls)
    for i, message in enumerate(messages):
        click.echo(f"  {i:3d}  {render_message(message)}")


def _tokens_line(calls: list[ModelCallRecord]) -> str:
    """Tokens of the run's model calls, saying how many of them were estimated."""
    prompt = sum(c.prompt_tokens for c in calls)
    completion = sum(c.completion_tokens for c in calls)
    estimated = [c for c in calls if c.usage_estimated]
    line = f"  tokens {prompt} prompt + {completion} completion"
    if estimated:
        line += f" ({len(estimated)} of {len(calls)} calls estimated: the server sent no usage)"
    return line


def _print_run(record: RunRecord, calls: list[ModelCallRecord]) -> None:
    console = make_console()
    console.print(
        Text.assemble(
            (f"run {record.id}", "bold"),
            "  status: ",
            (record.status, _status_style(record.status)),
            f"  reason: {record.stop_reason or '-'}",
        )
    )
    if record.stop_detail:
        console.print(f"  {record.stop_detail}", markup=False)
    console.print(
        f"  created {record.created_at.isoformat()}  seed {record.seed}  model calls {len(calls)}",
        markup=False,
    )
    if calls:
        console.print(_tokens_line(calls), markup=False)
    console.print(f"  budget {record.budget}  usage {record.usage or '-'}", markup=False)


@runs.command("replay")
@click.argument("run_id")
@db_option
@click.option(
    "--graph",
    "graph_spec",
    default=None,
    metavar="MODULE:FN|FILE.yaml",
    help="Rebuild the graph with this factory (given the run's recorded kwargs) or graph "
    "YAML file. Needed unless the recorded factory is registered under the 'lyceum.graphs' "
    "entry points: a store is data, so the factory it names is never imported by itself.",
)
@otel_option
def runs_replay(run_id: str, db: str | None, graph_spec: str | None, otel: bool) -> None:
    """Re-run a stored run from its recorded model calls and check the transcript matches."""
    store = SqlRunStore(db)
    record = store.get_run(run_id)
    graph = rebuild_graph(record.id, record.graph_source, graph=graph_spec)
    total = record.message_count
    with Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn()) as progress:
        task = progress.add_task("replay", total=total)

        def tick(event: Event) -> None:
            if isinstance(event, MessageSent):
                progress.advance(task)

        runtime = Runtime(store, tracer_provider=tracer_provider(otel))
        report = asyncio.run(runtime.replay(record.id, graph, observer=tick))
    if report.identical:
        click.echo(
            f"replay of {record.id} as {report.result.run_id}: identical transcript "
            f"({len(report.result.messages)} messages)"
        )
    else:
        click.echo(
            f"replay of {record.id} as {report.result.run_id}: transcripts differ at "
            f"message {report.first_difference}",
            err=True,
        )
        sys.exit(1)


@main.group()
def graph() -> None:
    """Check agent graphs written in YAML."""


@graph.command("check")
@click.argument("path", type=click.Path(path_type=Path))
def graph_check(path: Path) -> None:
    """Validate a graph YAML file and print it as a mermaid flowchart."""
    loaded = AgentGraph.from_yaml(path)
    click.echo(f"{path}: {len(loaded.agents)} agents, {len(loaded.edges())} edges: OK")
    click.echo(loaded.to_mermaid())


@main.group()
def experts() -> None:
    """List and check the expert models of an experts YAML file."""


experts_file = click.option(
    "--file",
    "--experts",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="experts.yaml",
    show_default=True,
    help="The experts YAML file.",
)


@experts.command("list")
@experts_file
def experts_list(path: Path) -> None:
    """Show each expert, its skills and backend."""
    from agents.meta.experts import load_experts

    table = Table()
    for col in ("expert", "skills", "backend"):
        table.add_column(col)
    for expert in load_experts(path).experts:
        backend: dict[str, Any]
        if expert.backend is None:  # served by `lyceum serve`, which writes its backend
            assert expert.serve is not None
            backend = {"served by lyceum serve": expert.serve.model or expert.serve.adapter}
        else:
            backend = expert.backend.model_dump()
        if "base_url" in backend:
            backend["base_url"] = mask_url(backend["base_url"])
        where = ", ".join(f"{k}={v}" for k, v in backend.items() if v is not None)
        table.add_row(Text(expert.name), Text(", ".join(expert.skills)), Text(where))
    make_console().print(table)


@experts.command("check")
@experts_file
@click.option(
    "--timeout",
    type=click.FloatRange(0, 600, min_open=True),
    default=5.0,
    show_default=True,
    help="Seconds per probe.",
)
def experts_check(path: Path, timeout: float) -> None:
    """Probe every expert's endpoint (health and model list); exit 1 if any fails."""
    from agents.meta.experts import load_experts

    results = asyncio.run(load_experts(path).check(timeout=timeout))
    for health in results:
        click.echo(f"{'ok  ' if health.ok else 'FAIL'} {health.expert}: {health.detail}")
    if not all(h.ok for h in results):
        sys.exit(1)


main.add_command(classroom)
main.add_command(eval_group)
main.add_command(kg)
main.add_command(models)
main.add_command(ui)
main.add_command(db)
main.add_command(serve)
