"""``python -m agents.eval [--students N] [--seed S] [--workers W]``: run the
explanation-effect experiment and write its table (Markdown) to stdout. Simulation, not
LLM results. ``python -m agents.eval --coverage DATA_DIR``: what the reading model's
arithmetic channel reads of ``misconceptions/data.json`` in the shared data folder."""

from __future__ import annotations

import argparse
import asyncio
import sys

from agents.eval.coverage import arithmetic_coverage
from agents.eval.effects import run_effects
from knowledge_graph.builders import load_misconception_records


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, run the experiment, write the table."""
    parser = argparse.ArgumentParser(prog="python -m agents.eval", description=__doc__)
    parser.add_argument("--students", type=int, default=1000, help="students per condition")
    parser.add_argument("--seed", type=int, default=0, help="the first student's seed")
    parser.add_argument("--workers", type=int, default=1, help="processes to run them in")
    parser.add_argument("--coverage", metavar="DATA_DIR", help="count the arithmetic coverage")
    args = parser.parse_args(argv)
    if args.coverage:
        coverage = arithmetic_coverage(load_misconception_records(args.coverage))
        sys.stdout.write(f"{coverage}\n")
        return
    report = asyncio.run(run_effects(args.students, seed=args.seed, workers=args.workers))
    sys.stdout.write(report.table() + "\n")
    sys.stdout.write(
        f"\n{args.students} simulated students per condition, seeds {args.seed}–"
        f"{args.seed + args.students - 1}; {report.seconds:.1f} s in {report.workers} "
        "process(es). Simulation, not LLM results.\n"
    )


if __name__ == "__main__":
    main()
