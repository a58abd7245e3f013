"""``lyceum kg``: build, inspect, query and export knowledge graphs."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.engine import make_url

from agents.cli.options import db_option, make_console, make_progress, output_error
from agents.store import resolve_db_url
from knowledge_graph import (
    SqlGraphStore,
    export_graphml,
    export_jsonl,
    import_graphml,
    import_jsonl,
)
from knowledge_graph.builders import (
    cbt_graph,
    curriculum_graph,
    gsm8k_graph,
    load_gsm8k,
    misconception_graph,
    sample_curriculum,
    tag_distribution,
)
from knowledge_graph.builders.gsm8k import TAGS
from protocols import UserError

__all__ = ["kg"]

TOP_K = click.IntRange(1, 10_000)
SOURCES = ("curriculum", "misconceptions", "gsm8k", "cbt", "jsonl", "graphml")


def _progress() -> Progress:
    return make_progress()


def _store(db: str | None, *, read_only: bool = False) -> SqlGraphStore:
    return SqlGraphStore(resolve_db_url(db), read_only=read_only)


data_option = click.option(
    "--data",
    "data_dir",
    envvar="LYCEUM_DATA_DIR",
    default=None,
    show_envvar=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The evaluation data folder.",
)


@click.group()
def kg() -> None:
    """Build, inspect, query and export knowledge graphs."""


@kg.command()
@click.argument("source", type=click.Choice(SOURCES))
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Input file (curriculum YAML, JSONL or GraphML).",
)
@click.option(
    "--limit",
    type=click.IntRange(0, 10**9),
    default=None,
    help="gsm8k: only the first N problems.",
)
@db_option
@data_option
def build(
    source: str, file: Path | None, limit: int | None, db: str | None, data_dir: Path | None
) -> None:
    """Build a graph from SOURCE into the store, in one transaction.

    curriculum: the shipped sample curriculum, or --file YAML. misconceptions, gsm8k, cbt:
    from the data folder. jsonl, graphml: --file."""
    store = _store(db)
    console = make_console()
    if source in ("jsonl", "graphml") and file is None:
        raise UserError(f"`lyceum kg build {source}` needs --file")
    with _progress() as progress:
        if source == "gsm8k":
            records = load_gsm8k(data_dir, limit)
            task = progress.add_task("tagging GSM8K", total=len(records))
            gsm8k_graph(
                data_dir, limit=limit, store=store, progress=lambda n: progress.advance(task, n)
            )
        else:
            task = progress.add_task(f"building {source}", total=1)
            if source == "curriculum":
                curriculum_graph(file, store) if file else sample_curriculum(store)
            elif source == "misconceptions":
                misconception_graph(data_dir, store=store)
            elif source == "cbt":
                cbt_graph(data_dir, store=store)
            elif source == "jsonl":
                import_jsonl(store, file)  # type: ignore[arg-type]
            else:
                import_graphml(store, file)  # type: ignore[arg-type]
            progress.advance(task)
    stats = store.stats()
    console.print(
        f"built {source} into {store.display_url}: {stats.nodes} nodes, {stats.edges} edges"
    )
    if source == "gsm8k":
        counts = tag_distribution(load_gsm8k(data_dir, limit))
        n = len(load_gsm8k(data_dir, limit))
        table = Table(title=f"GSM8K skill tags over {n} problems")
        table.add_column("tag")
        table.add_column("problems", justify="right")
        table.add_column("share", justify="right")
        for tag in TAGS:
            table.add_row(tag, str(counts[tag]), f"{counts[tag] / n:.1%}")
        console.print(table)
    store.close()


@kg.command()
@db_option
def stats(db: str | None) -> None:
    """Counts of nodes and edges, by label and by edge type."""
    store = _store(db, read_only=True)
    s = store.stats()
    console = make_console()
    console.print(f"{store.display_url}: {s.nodes} nodes, {s.edges} edges")
    for title, counts in (("label", s.labels), ("edge type", s.edge_types)):
        table = Table()
        table.add_column(title)
        table.add_column("count", justify="right")
        for key, value in counts.items():
            table.add_row(key, str(value))
        console.print(table)
    store.close()


@kg.command()
@click.argument("text")
@click.option("-k", type=TOP_K, default=5, show_default=True, help="How many nodes.")
@click.option(
    "--hops",
    type=click.IntRange(0, 100),
    default=1,
    show_default=True,
    help="Graph expansion depth (hybrid).",
)
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "bm25", "embedding"]),
    default="hybrid",
    show_default=True,
)
@click.option("--label", "labels", multiple=True, help="Only return nodes with this label.")
@click.option(
    "--embeddings/--no-embeddings",
    default=False,
    help="Use sentence embeddings (needs lyceum[embeddings]).",
)
@db_option
def query(
    text: str,
    k: int,
    hops: int,
    mode: str,
    labels: tuple[str, ...],
    embeddings: bool,
    db: str | None,
) -> None:
    """Retrieve the nodes that best match TEXT, with their ids as citations."""
    from knowledge_graph.retrieval import Retriever, SentenceEmbedder

    store = _store(db, read_only=True)
    embedder = SentenceEmbedder() if embeddings or mode == "embedding" else None
    result = Retriever(store, embedder=embedder).search(
        text,
        k=k,
        hops=hops,
        mode=mode,  # type: ignore[arg-type]
        labels=labels or None,
    )
    click.echo(result.context())
    store.close()


@kg.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "graphml"]),
    default=None,
    help="Default: from the file extension.",
)
@db_option
def export(path: Path, fmt: str | None, db: str | None) -> None:
    """Write the whole graph to PATH as JSONL or GraphML."""
    fmt = fmt or ("graphml" if path.suffix == ".graphml" else "jsonl")
    store = _store(db, read_only=True)
    store.stats()  # opens the store: a bad --db fails before PATH is created
    database = make_url(store.url).database if store.dialect == "sqlite" else None
    try:
        if database and path.exists() and path.samefile(database):
            raise UserError(f"{path} is the graph store itself; export to another file")
        if fmt == "jsonl":
            lines = export_jsonl(store, path)
            click.echo(f"wrote {lines} lines to {path}")
        else:
            export_graphml(store, path)
            click.echo(f"wrote {path}")
    except OSError as exc:
        raise output_error(path, exc) from None
    finally:
        store.close()


@kg.command("eval-retrieval")
@click.option("-k", type=TOP_K, default=5, show_default=True)
@click.option(
    "--embeddings/--no-embeddings",
    default=True,
    help="Include the embedding methods (needs lyceum[embeddings]).",
)
@data_option
def eval_retrieval(k: int, embeddings: bool, data_dir: Path | None) -> None:
    """Recall@k of each example's own misconception (misconceptions/data.json)."""
    from knowledge_graph.evaluation import misconception_recall
    from knowledge_graph.retrieval import SentenceEmbedder

    with _progress() as progress:
        task = progress.add_task("queries", total=110)
        report = misconception_recall(
            data_dir,
            k=k,
            embedder=SentenceEmbedder() if embeddings else None,
            progress=lambda n: progress.advance(task, n),
        )
    click.echo(report.table())
