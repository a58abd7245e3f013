"""Knowledge-graph benchmark on synthetic graphs of 10k, 100k and 1M nodes (average total
degree 5, i.e. 2.5 directed edges per node, ~8 words of text per node).

Each measurement runs in its own process, so peak memory (ru_maxrss) is that of one store
alone. Baselines are measured in the same run: plain networkx for loading, memory and
2-hop traversal; rank-bm25 for lexical search. Run with ``make bench`` or
``python benchmarks/bench_kg.py --sizes 10000,100000``.

Targets (issue 3): the SQL store's 2-hop p50 at 1M nodes within 1.5x of its p50 at 10k;
its process memory at 1M nodes at most 1/5 of networkx's; lexical search at least 5x faster
than rank-bm25 at 100k nodes; hybrid retrieval latency growing sub-linearly 10k -> 1M.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

VOCAB = [f"w{i}" for i in range(5000)]
QUERIES = 100
STARTS = 200


def node_text(i: int) -> str:
    rng = random.Random(i)
    return " ".join(rng.choice(VOCAB) for _ in range(8))


def edge_pairs(n: int) -> Iterator[tuple[int, int]]:
    """2.5 directed edges per node on average (total degree 5), no duplicates."""
    rng = random.Random(n)
    for i in range(n):
        k = 2 if i % 2 else 3
        for j in {rng.randrange(n) for _ in range(k)} - {i}:
            yield i, j


def nid(i: int) -> str:
    return f"n{i:07d}"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_each(fn: Any, args: list[Any]) -> list[float]:
    out = []
    for a in args:
        start = time.perf_counter()
        fn(a)
        out.append(time.perf_counter() - start)
    return out


# -- workers (one process each) ------------------------------------------------------------
def worker_networkx(n: int) -> dict[str, float]:
    import networkx as nx

    base = peak_mb()
    start = time.perf_counter()
    graph: Any = nx.MultiDiGraph()
    for i in range(n):
        graph.add_node(nid(i), labels=("Item",), properties={"text": node_text(i)})
    edges = 0
    for a, b in edge_pairs(n):
        graph.add_edge(nid(a), nid(b), key="LINKS", properties={})
        edges += 1
    load = time.perf_counter() - start
    undirected = graph.to_undirected(as_view=True)
    rng = random.Random(1)
    starts = [nid(rng.randrange(n)) for _ in range(STARTS)]
    hop = time_each(
        lambda s: nx.single_source_shortest_path_length(undirected, s, cutoff=2), starts
    )
    return {
        "load_s": load,
        "items": n + edges,
        "peak_mb": peak_mb(),
        "base_mb": base,
        "hop_p50": percentile(hop, 0.5),
        "hop_p95": percentile(hop, 0.95),
    }


def _nodes(n: int) -> Iterator[Any]:
    from knowledge_graph import Node

    for i in range(n):
        yield Node(id=nid(i), labels=("Item",), properties={"text": node_text(i)})


def _edges(n: int) -> Iterator[Any]:
    from knowledge_graph import Edge

    for a, b in edge_pairs(n):
        yield Edge(source=nid(a), target=nid(b), type="LINKS")


def worker_store(kind: str, n: int, url: str | None) -> dict[str, float]:
    from knowledge_graph import MemoryGraphStore, SqlGraphStore
    from knowledge_graph.retrieval import Retriever

    base = peak_mb()
    store: Any
    if kind == "memory":
        store = MemoryGraphStore()
    else:
        assert url is not None
        store = SqlGraphStore(url, chunk_size=10_000)
    start = time.perf_counter()
    loaded = store.bulk_load(_nodes(n), _edges(n))
    load = time.perf_counter() - start
    rng = random.Random(1)
    starts = [nid(rng.randrange(n)) for _ in range(STARTS)]
    store.neighborhood(starts[:5], depth=2)  # warm the cache
    hop = time_each(lambda s: store.neighborhood([s], depth=2, direction="both"), starts)
    result = {
        "load_s": load,
        "items": sum(loaded),
        "peak_mb": peak_mb(),
        "base_mb": base,
        "hop_p50": percentile(hop, 0.5),
        "hop_p95": percentile(hop, 0.95),
    }
    if kind == "sqlite":
        retriever = Retriever(store).index()
        queries = [node_text(rng.randrange(n)).split()[:3] for _ in range(QUERIES // 2)]
        hybrid = time_each(lambda q: retriever.search(" ".join(q), k=10, hops=1), queries)
        result["hybrid_p50"] = percentile(hybrid, 0.5)
        result["peak_after_retrieval_mb"] = peak_mb()
    store.close()
    return result


def worker_lexical(kind: str, n: int) -> dict[str, float]:
    texts = [node_text(i) for i in range(n)]
    rng = random.Random(2)
    queries = [" ".join(node_text(rng.randrange(n)).split()[:3]) for _ in range(QUERIES)]
    start = time.perf_counter()
    if kind == "bm25s":
        import bm25s

        index = bm25s.BM25()
        index.index(bm25s.tokenize(texts, stopwords=None, show_progress=False), show_progress=False)

        def search(q: str) -> Any:
            return index.retrieve(
                bm25s.tokenize([q], stopwords=None, show_progress=False), k=10, show_progress=False
            )
    else:
        from rank_bm25 import BM25Okapi

        okapi = BM25Okapi([t.split() for t in texts])

        def search(q: str) -> Any:
            return okapi.get_top_n(q.split(), texts, n=10)

    build = time.perf_counter() - start
    took = time_each(search, queries)
    return {"build_s": build, "p50": percentile(took, 0.5)}


# -- driver --------------------------------------------------------------------------------
def run_worker(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("LYCEUM_TEST_POSTGRES_URL"),
        help="also measure a PostgreSQL store at this URL (an empty database)",
    )
    parser.add_argument(
        "--rank-bm25-max",
        type=int,
        default=100_000,
        help="largest size at which to run the slow rank-bm25 baseline",
    )
    parser.add_argument(
        "--stores",
        default="networkx,memory,sqlite,postgres",
        help="which stores to measure (networkx is the baseline)",
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, size, *rest = args.worker
        n = int(size)
        if kind == "networkx":
            result = worker_networkx(n)
        elif kind in ("bm25s", "rank_bm25"):
            result = worker_lexical(kind, n)
        else:
            result = worker_store(kind, n, rest[0] if rest else None)
        print(json.dumps(result))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    table: dict[int, dict[str, dict[str, float]]] = {}
    for n in sizes:
        row: dict[str, dict[str, float]] = {}
        stores = args.stores.split(",")
        with tempfile.TemporaryDirectory() as tmp:
            for kind in ("networkx", "memory"):
                if kind in stores:
                    row[kind] = run_worker(kind, str(n))
            if "sqlite" in stores:
                row["sqlite"] = run_worker("sqlite", str(n), f"sqlite:///{Path(tmp) / 'kg.db'}")
        if args.postgres and "postgres" in stores:
            row["postgres"] = postgres_run(args.postgres, n)
        if {"networkx", "sqlite"} <= set(stores):
            row["bm25s"] = run_worker("bm25s", str(n))
            if n <= args.rank_bm25_max:
                row["rank_bm25"] = run_worker("rank_bm25", str(n))
        table[n] = row
        report_size(n, row)
    if {"networkx", "sqlite"} <= set(args.stores.split(",")):
        report_targets(table)


def postgres_run(url: str, n: int) -> dict[str, float]:
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    name = f"lyceum_bench_{n}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return run_worker("postgres", str(n), f"{url.rpartition('/')[0]}/{name}")
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report_size(n: int, row: dict[str, dict[str, float]]) -> None:
    nx_row = row.get("networkx") or next(iter(row.values()))
    print(f"\n== {n:,} nodes, {int(nx_row['items']) - n:,} edges ==")
    print(
        f"  {'store':10s} {'load items/s':>13s} {'peak MB':>9s} {'vs nx':>7s} "
        f"{'2-hop p50 ms':>13s} {'p95 ms':>8s} {'vs nx':>7s}"
    )
    for kind in ("networkx", "memory", "sqlite", "postgres"):
        r = row.get(kind)
        if r is None:
            continue
        print(
            f"  {kind:10s} {r['items'] / r['load_s']:13,.0f} {r['peak_mb']:9.0f} "
            f"{r['peak_mb'] / nx_row['peak_mb']:7.2f} {r['hop_p50'] * 1e3:13.3f} "
            f"{r['hop_p95'] * 1e3:8.3f} {r['hop_p50'] / nx_row['hop_p50']:7.2f}"
        )
    if "bm25s" not in row:
        return
    lex = row["bm25s"]
    line = f"  BM25 top-10 p50: bm25s {lex['p50'] * 1e3:.3f} ms (index {lex['build_s']:.1f} s)"
    if "rank_bm25" in row:
        base = row["rank_bm25"]
        line += (
            f", rank-bm25 {base['p50'] * 1e3:.1f} ms: bm25s is "
            f"{base['p50'] / lex['p50']:.0f}x faster"
        )
    print(line)
    print(
        f"  hybrid retrieval (BM25 + 1-hop PageRank, SQLite store) p50: "
        f"{row['sqlite']['hybrid_p50'] * 1e3:.2f} ms"
    )


def report_targets(table: dict[int, dict[str, dict[str, float]]]) -> None:
    sizes = sorted(table)
    small, large = sizes[0], sizes[-1]
    print("\nTargets")

    def say(name: str, value: str, ok: bool) -> None:
        print(f"  {name:62s} {value:>14s}  {'met' if ok else 'NOT met'}")

    growth = table[large]["sqlite"]["hop_p50"] / table[small]["sqlite"]["hop_p50"]
    say(f"SQLite 2-hop p50 at {large:,} / at {small:,} (<= 1.5)", f"{growth:.2f}", growth <= 1.5)
    memory = table[large]["sqlite"]["peak_mb"] / table[large]["networkx"]["peak_mb"]
    say(
        f"SQLite store memory / networkx memory at {large:,} (<= 0.2)",
        f"{memory:.3f}",
        memory <= 0.2,
    )
    mid = 100_000 if 100_000 in table and "rank_bm25" in table[100_000] else None
    if mid:
        speed = table[mid]["rank_bm25"]["p50"] / table[mid]["bm25s"]["p50"]
        say("bm25s speed-up over rank-bm25 at 100,000 (>= 5)", f"{speed:.0f}x", speed >= 5)
    hybrid = table[large]["sqlite"]["hybrid_p50"] / table[small]["sqlite"]["hybrid_p50"]
    say(
        f"hybrid latency growth {small:,} -> {large:,} (< size growth {large // small}x)",
        f"{hybrid:.2f}x",
        hybrid < large / small,
    )


if __name__ == "__main__":
    main()
