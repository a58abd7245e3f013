"""In-process model benchmark: ``TransformersClient.score`` batching and the cost of
constrained decoding. Run with ``make bench`` or ``python benchmarks/bench_models.py``.

Uses the converted Gemma 3 270M folder (``$LYCEUM_CACHE/gemma3-270m-hf``, as the tests
make it) when it exists, otherwise a tiny random Llama built here, and says which. Figures
are ratios against a baseline measured in the same run.

Targets (issue 9): ``score`` throughput at concurrency 16 >= 3x that at concurrency 1
(concurrent calls share one forward pass); constrained generation's tokens/s reported
against unconstrained generation's on the same prompts (the grammar's per-token cost).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

from agents.models import ModelRequest, TransformersClient
from personas.persona import Reply
from personas.prompting import ThoughtVars

PROMPTS = [
    "The student wrote 1/3 + 1/6 = 2/9. The teacher",
    "Question: what is 3/4 - 1/2? Answer:",
    "A fraction names a part of a whole. For example,",
    "To add fractions with different denominators, first",
]
OPTIONS = [" Paris", " a common denominator", " one quarter", " banana"]


def model_folder() -> tuple[Path, str]:
    cache = Path(os.environ.get("LYCEUM_CACHE", Path.home() / ".cache" / "lyceum"))
    gemma = cache / "gemma3-270m-hf"
    if (gemma / "config.json").exists():
        return gemma, "Gemma 3 270M"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.tiny_models import build_byte_model

    folder = Path(tempfile.mkdtemp(prefix="lyceum-bench-"))
    return build_byte_model(folder), "a tiny random Llama (no Gemma folder found)"


async def score_rate(client: TransformersClient, concurrency: int, calls: int) -> float:
    """Score calls per second with ``concurrency`` callers, ``calls`` calls in all."""
    per_caller = calls // concurrency

    async def caller(i: int) -> None:
        for n in range(per_caller):
            await client.score(PROMPTS[(i + n) % len(PROMPTS)], OPTIONS[: 2 + (i % 3)])

    start = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(concurrency)))
    return per_caller * concurrency / (time.perf_counter() - start)


async def generation_rate(
    client: TransformersClient, schemas: list[type[BaseModel] | None], max_tokens: int
) -> float:
    """Generated tokens per second for one batch, a request per prompt."""
    requests = [
        ModelRequest.of(
            p + " As JSON:",
            max_tokens=max_tokens,
            response_schema=None if s is None else s.model_json_schema(),
        )
        for p, s in zip(PROMPTS, schemas, strict=True)
    ]
    start = time.perf_counter()
    replies = await asyncio.gather(*(client.complete(r) for r in requests))
    elapsed = time.perf_counter() - start
    return sum(r.usage.completion_tokens for r in replies) / elapsed


async def run(calls: int, rounds: int, max_tokens: int) -> None:
    folder, label = model_folder()
    print(f"In-process TransformersClient on {label} (CPU threads: {os.cpu_count()})")
    client = TransformersClient(folder, max_score_batch=16, batch_window_ms=20)
    await client.score(PROMPTS[0], OPTIONS)  # load and warm up
    await score_rate(client, 16, 16)
    # Interleaved rounds, so that a change in the machine's load touches both alike.
    ones, sixteens = [], []
    for _ in range(rounds):
        ones.append(await score_rate(client, 1, calls))
        sixteens.append(await score_rate(client, 16, calls))
    one, sixteen = statistics.median(ones), statistics.median(sixteens)
    ratio = sixteen / one
    print(
        f"  score throughput (median of {rounds} interleaved rounds): concurrency 1 "
        f"{one:6.2f} calls/s, concurrency 16 {sixteen:6.2f} calls/s, ratio {ratio:4.1f}x  "
        f"(target >= 3x: {'met' if ratio >= 3 else 'NOT met'}; "
        f"batches {client.score_batch_sizes[-2:]})"
    )
    constrained: list[type[BaseModel] | None] = [ThoughtVars, Reply, ThoughtVars, Reply]
    await generation_rate(client, constrained, 4)  # builds the grammar tokenizer
    free = await generation_rate(client, [None] * 4, max_tokens)
    bound = await generation_rate(client, constrained, max_tokens)
    print(
        f"  generation, batch of 4, up to {max_tokens} tokens each: unconstrained "
        f"{free:6.1f} tokens/s, constrained (ThoughtVars/Reply schemas) {bound:6.1f} tokens/s, "
        f"ratio constrained/unconstrained {bound / free:4.2f}"
    )
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=32, help="score calls per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved score rounds")
    parser.add_argument("--max-tokens", type=int, default=48, help="tokens per generation")
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.rounds, args.max_tokens))


if __name__ == "__main__":
    main()
