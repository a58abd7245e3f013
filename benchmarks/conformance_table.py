"""The conformance table of docs/models.md: each LLM path on each backend, measured.

Runs the paths of the conformance suite (``tests/conformance/paths.py``) on every backend
(``tests/conformance/backends.py``): ``transformers serve`` on the tiny random Llama and on
Gemma 3 270M, ``FakeOpenAIServer`` in each server's mode, and ``TransformersClient``
in-process. Prints a markdown table, server x path, each cell
``pass|fail: <why> · attempts per structured call · tokens recorded/reported by the server``.

A cell that fails, raises or runs past ``--timeout`` prints ``fail: <reason>`` and the table
goes on. Run with ``make conformance`` (``--fast`` leaves out the Gemma rows).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402  (the suite's helpers skip with pytest's exceptions)

from tests.conformance.backends import BACKENDS, Backends, NotYet  # noqa: E402
from tests.conformance.paths import PATHS, Outcome, structured_attempts  # noqa: E402

COLUMNS = ["completion", "stream", "structured", "persona turn", "planner", "few-shot"]
STRUCTURED = {"structured", "persona turn", "planner", "few-shot"}
_SKIPPED = (pytest.skip.Exception, pytest.fail.Exception)


def _unavailable(ok: bool, reason: str) -> None:
    if not ok:
        raise NotYet(reason)


def _describe(path: str, outcome: Outcome) -> str:
    if outcome.ok:
        status = "pass"
    else:
        error = outcome.error
        status = f"fail: {error.error_type if error else outcome.result.reason}"
    parts = [status]
    if path in STRUCTURED and outcome.calls:
        attempts = ", ".join(str(n) for n in structured_attempts(outcome.calls))
        parts.append(f"attempts {attempts}")
    server = "–" if outcome.server_tokens is None else str(outcome.server_tokens)
    if outcome.calls:
        parts.append(f"tokens {outcome.recorded_tokens}/{server}")
    return " · ".join(parts)


async def cell(backends: Backends, name: str, path: str, db: Path, timeout: float) -> str:
    """One measured cell; never raises."""
    try:
        live = backends.open(name)
    except (NotYet, *_SKIPPED) as exc:
        return f"n/a: {str(exc).splitlines()[0][:80]}"
    except Exception as exc:  # noqa: BLE001 - a backend that cannot start is one cell
        return f"fail: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
    try:
        outcome = await asyncio.wait_for(PATHS[path](live, db), timeout)
    except TimeoutError:
        return f"fail: timed out after {timeout:g}s"
    except Exception as exc:  # noqa: BLE001 - a failing cell must not end the table
        return f"fail: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
    finally:
        await live.aclose()
    return _describe(path, outcome)


async def table(names: list[str], paths: list[str], timeout: float) -> str:
    lines = [
        "| server | " + " | ".join(paths) + " |",
        "|---" * (len(paths) + 1) + "|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        backends = Backends(Path(tmp), _unavailable)
        try:
            for name in names:
                cells = []
                for i, path in enumerate(paths):
                    started = time.perf_counter()
                    db = Path(tmp) / f"{name}-{i}.db"
                    cells.append(await cell(backends, name, path, db, timeout))
                    elapsed = time.perf_counter() - started
                    print(f"  {name} / {path}: {cells[-1]} ({elapsed:.1f}s)", file=sys.stderr)
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
        finally:
            backends.close()
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="leave out the slow (Gemma) rows")
    parser.add_argument("--backends", help="comma-separated backend names (default: all)")
    parser.add_argument("--paths", help=f"comma-separated paths (default: {', '.join(COLUMNS)})")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per cell")
    args = parser.parse_args(argv)
    names = args.backends.split(",") if args.backends else list(BACKENDS)
    paths = args.paths.split(",") if args.paths else COLUMNS
    unknown = [n for n in names if n not in BACKENDS] + [p for p in paths if p not in PATHS]
    if unknown:
        parser.error(
            f"unknown backends or paths {unknown}; backends: {', '.join(BACKENDS)}; "
            f"paths: {', '.join(PATHS)}"
        )
    if args.fast:
        names = [n for n in names if not BACKENDS[n].slow]
    print(asyncio.run(table(names, paths, args.timeout)))


if __name__ == "__main__":
    main()
