"""Sweep runner benchmark (issue 11): ``make bench`` or ``python benchmarks/bench_eval.py``.

1. Episodes per second against a loopback OpenAI-compatible server with a fixed 200 ms
   latency (``agents.models.fake_server``, in its own process as a real server would be),
   each episode one chat completion through lyceum's ``OpenAIChatClient``, run by
   ``run_sweep`` on the local executor with every unit persisted to SQLite; at concurrency
   1, 8, 32 and 128, as a fraction of the ideal ``concurrency / 0.2 s``. Target: >= 90% of
   ideal at 32. Beside it, the same requests sent straight through the client
   (``asyncio.gather`` under a semaphore, nothing stored) in the same run: the ratio of the
   two is the runner's own cost, whatever the machine's load does to both.
2. Ray executor overhead: the same CPU-trivial sweep (no latency, so only the executor's
   own cost shows) on a local Ray cluster and on the local executor; the ratio of the two
   wall times (Ray's start-up is reported apart).

Figures are printed as ratios against the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import Mapping
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from agents.eval import EpisodeKey, Payload, SweepStore, run_sweep
from agents.models import ModelRequest, OpenAIChatClient

LATENCY = 0.2


class ChatTask:
    """A one-stage sweep: each unit asks the model one question. The client is made per
    event loop (a Ray chunk runs in its own loop) and never pickled."""

    kind = "bench"
    student_kind = "lm"

    def __init__(self, base_url: str, units: int, concurrency: int) -> None:
        self.base_url, self.units_n, self.concurrency = base_url, units, concurrency
        self.nonce = uuid.uuid4().hex  # every measurement is a fresh sweep
        self._clients: weakref.WeakKeyDictionary[Any, OpenAIChatClient] = (
            weakref.WeakKeyDictionary()
        )

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_clients"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _clients=weakref.WeakKeyDictionary())

    def config_hash(self) -> str:
        return hashlib.sha256(f"chat:{self.units_n}:{self.nonce}".encode()).hexdigest()

    def stages(self) -> int:
        return 1

    def units(self, stage: int, done: Mapping[EpisodeKey, Payload]) -> list[EpisodeKey]:
        return [EpisodeKey("episode", f"q{i}", "", 0.0, 0) for i in range(self.units_n)]

    def inputs(self, key: EpisodeKey, done: Mapping[EpisodeKey, Payload]) -> Payload:
        return {}

    async def run(self, key: EpisodeKey, inputs: Payload) -> Payload:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = OpenAIChatClient(
                self.base_url, "fake", max_concurrency=self.concurrency, timeout=30
            )
            self._clients[loop] = client
        response = await client.complete(ModelRequest.of(key.item))
        return {"text": response.text}


class TrivialTask(ChatTask):
    """The same sweep with no model call: only the runner's and executor's cost."""

    async def run(self, key: EpisodeKey, inputs: Payload) -> Payload:
        return {"n": int(key.item[1:]) % 7}


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-c", "from agents.models.fake_server import main; main()",
         "--delay", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


async def direct(base_url: str, units: int, concurrency: int) -> float:
    """The baseline: the same requests through the client alone; seconds."""
    client = OpenAIChatClient(base_url, "fake", max_concurrency=concurrency, timeout=30)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await client.complete(ModelRequest.of(f"q{i}"))

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(units)))
    elapsed = time.perf_counter() - start
    await client.aclose()
    return elapsed


def timed(task: ChatTask, store: SweepStore, executor: str = "local") -> float:
    start = time.perf_counter()
    result = run_sweep(
        task, store=store, executor=executor,  # type: ignore[arg-type]
        concurrency=task.concurrency, progress=False,
    )
    elapsed = time.perf_counter() - start
    assert result.ran == task.units_n, result
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="units per slot of concurrency")
    parser.add_argument("--trivial", type=int, default=2000, help="units of the Ray sweep")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray comparison")
    args = parser.parse_args()
    with TemporaryDirectory() as tmp:
        store = SweepStore(f"sqlite:///{Path(tmp) / 'bench.db'}")
        store.begin("warm-up", "bench", {})  # create the schema before timing
        server, base_url = start_server(LATENCY)
        try:
            print(f"Episodes/s, one chat completion each, {LATENCY * 1000:.0f} ms loopback "
                  f"latency, local executor, units persisted to SQLite ({args.rounds} per slot)")
            for concurrency in (1, 8, 32, 128):
                units = concurrency * args.rounds
                baseline = units / asyncio.run(direct(base_url, units, concurrency))
                rate = units / timed(ChatTask(base_url, units, concurrency), store)
                ideal = concurrency / LATENCY
                note = ""
                if concurrency == 32:
                    note = f"  (target >= 90%: {'met' if rate / ideal >= 0.9 else 'NOT met'})"
                print(f"  concurrency {concurrency:4d}: {rate:7.1f} episodes/s = "
                      f"{rate / ideal:6.1%} of ideal {ideal:5.0f}/s, {rate / baseline:6.1%} of "
                      f"the bare client's {baseline:6.1f}/s{note}")
        finally:
            server.terminate()
            server.communicate(timeout=10)
        if args.no_ray:
            return
        import os

        import ray

        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a throwaway loopback cluster
        start = time.perf_counter()
        ray.init(include_dashboard=False, logging_level="warning", log_to_driver=False)
        started = time.perf_counter() - start
        try:
            local = timed(TrivialTask("", args.trivial, 32), store)
            timed(TrivialTask("", 64, 32), store, "ray")  # workers warm
            on_ray = timed(TrivialTask("", args.trivial, 32), store, "ray")
        finally:
            ray.shutdown()
        print(f"\nRay executor overhead, {args.trivial} CPU-trivial units (no latency): "
              f"local {local:.2f} s, Ray {on_ray:.2f} s, ratio Ray/local {on_ray / local:.2f} "
              f"(+ {started:.1f} s once to start the local cluster)")


if __name__ == "__main__":
    main()
