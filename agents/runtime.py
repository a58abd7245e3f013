"""``Runtime``: routes typed messages along a graph's edges under a hard budget.

The run proceeds in steps. In each step every pending message is delivered to its
recipients; agents with mail run concurrently, each handling its own inbox in order. Their
replies are committed in a fixed order (graph order, then inbox order), so a run is
deterministic given its seed and its model replies. A run ends when an agent sends ``Stop``,
when nothing is left to deliver, when a budget runs out, on an agent error, or on
cancellation (Ctrl-C): in every case the last message is a typed ``Stop`` and the run is
persisted with that reason. When a budget runs out, the agents still working in that step are
cancelled, and nothing an agent does after the ``Stop`` is recorded: a model call after the
end of its run is refused.

An exception from the observer also stops the run: an ``Error`` from ``runtime`` carrying the
exception's text, then a ``Stop`` with reason ``error``; the observer is not called again.
Any other unexpected exception in the run loop is recorded the same way, then re-raised.

Agents may keep per-run state: the runtime calls ``agent.new_state()`` (when an agent has
one) at the start of every run and hands the object to the agent on each turn as
``ctx.state``, so runs of one graph object, replays and concurrent runs never share it.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agents.agent import Agent, RunContext
from agents.budget import Budget, BudgetTracker
from agents.gateway import ModelGateway, ReplaySource
from agents.graph import AgentGraph
from agents.store import (
    ModelCallRecord,
    RunFinish,
    RunRecord,
    RunStore,
    SqlRunStore,
    StepRecord,
    StepWriter,
)
from protocols import (
    MESSAGE_ADAPTER,
    BudgetExceeded,
    BudgetWarning,
    Envelope,
    Error,
    Event,
    Message,
    MessageSent,
    RunStarted,
    RunStopped,
    Stop,
    StopReason,
    TokenDelta,
    UserError,
    transcript,
)

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer, TracerProvider

    from agents.telemetry import Telemetry

__all__ = ["ReplayReport", "RunResult", "Runtime"]

USER = "user"
"""The sender of a run's first message. Agents may address it; such messages are recorded
(the caller reads them in ``RunResult.messages``) but not delivered to any agent."""

Observer = Callable[[Event], "Awaitable[None] | None"]

_STATUS: dict[str, str] = {"completed": "completed", "interrupted": "interrupted", "error": "error"}


class _RoutingError(UserError):
    pass


class _ObserverFailed(Exception):
    """The observer raised ``error``; the run stops with a typed ``Error``."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"the observer raised {type(error).__name__}: {error}")
        self.error = error


@dataclass(frozen=True)
class RunResult:
    """The outcome of a run.

    Attributes:
        run_id: The run's id in the store.
        reason: Why it stopped (``completed``, ``max_turns``, …).
        detail: A human-readable explanation of the stop.
        messages: Every message of the run, in order; the last is always a ``Stop``.
        usage: Turns, model calls, tokens and seconds used.
    """

    run_id: str
    reason: StopReason
    detail: str
    messages: list[Message]
    usage: dict[str, float]

    @property
    def status(self) -> str:
        return _STATUS.get(self.reason, "stopped")

    def transcript(self) -> list[dict[str, Any]]:
        """The messages without ids and times (see ``protocols.transcript``)."""
        return transcript(self.messages)


@dataclass(frozen=True)
class ReplayReport:
    """A replay's result and whether it reproduced the recorded transcript exactly."""

    original: str
    result: RunResult
    identical: bool
    first_difference: int | None


@dataclass
class _State:
    run_id: str
    graph: AgentGraph
    tracker: BudgetTracker
    gateway: ModelGateway
    observer: Observer | None
    seed: int
    messages: list[Message] = field(default_factory=list)
    event_seq: int = 0
    pending_events: list[Event] = field(default_factory=list)
    # What the current step will write, in one transaction, when it ends (see _flush).
    step_messages: list[tuple[int, Message]] = field(default_factory=list)
    step_events: list[tuple[int, Event]] = field(default_factory=list)
    step_calls: list[ModelCallRecord] = field(default_factory=list)
    rngs: dict[str, random.Random] = field(default_factory=dict)
    tasks: set[asyncio.Future[Any]] = field(default_factory=set)
    agent_states: dict[str, object] = field(default_factory=dict)
    observer_error: Exception | None = None
    finished: bool = False

    def rng(self, agent: str) -> random.Random:
        """The agent's RNG for this run, seeded from the run seed and the agent name."""
        if agent not in self.rngs:
            self.rngs[agent] = random.Random(f"{self.seed}:{agent}")
        return self.rngs[agent]


class Runtime:
    """Runs agent graphs and persists every run.

    Each step of a run is stored in one transaction (its messages, events and model calls)
    by a ``StepWriter`` on a background thread, so the event loop never waits on the
    database; the run's last step, with its ``Stop`` and outcome, is awaited before ``run``
    returns and before the observer sees ``RunStopped``.

    Args:
        store: A ``RunStore``, a database URL or path (an ``SqlRunStore``), or None to keep
            runs in memory only.
        clock: Returns the current UTC time (inject a fixed clock in tests).
        tracer_provider: An OpenTelemetry ``TracerProvider`` (or ``Tracer``): each run, agent
            turn and model call becomes a span (``agents.telemetry``, the ``otel`` extra).
            None (the default): nothing is traced and OpenTelemetry is not imported.
    """

    def __init__(
        self,
        store: RunStore | str | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        tracer_provider: TracerProvider | Tracer | None = None,
    ) -> None:
        self.store = SqlRunStore(store) if isinstance(store, str) else store
        self.clock = clock or (lambda: datetime.now(UTC))
        self._writer = StepWriter(self.store) if self.store is not None else None
        self._telemetry: Telemetry | None = None
        if tracer_provider is not None:
            from agents.telemetry import Telemetry

            self._telemetry = Telemetry(tracer_provider)

    # -- public API --------------------------------------------------------------------
    async def run(
        self,
        graph: AgentGraph,
        message: Envelope,
        *,
        budget: Budget | None = None,
        seed: int = 0,
        observer: Observer | None = None,
        run_id: str | None = None,
        _replay: ReplaySource | None = None,
    ) -> RunResult:
        """Run ``graph`` from ``message`` until it stops; see the module docs.

        Args:
            graph: The agents and their typed edges.
            message: The first message; it must name its recipients (``to=``).
            budget: Hard limits; ``Budget()`` defaults when None.
            seed: Seeds every agent's ``ctx.rng``.
            observer: Called with every event (sync or async), e.g. to render live. If it
                raises, the run stops with an ``Error`` and a ``Stop`` (reason ``error``)
                and it is not called again.
            run_id: The run's id (at most 64 printable characters, unique in the store);
                None: a random one. A caller that must find its run again, such as a
                batch unit resumed after a crash, derives it from its own key.

        Raises:
            GraphBuildError: The graph is invalid.
            UserError: The first message has no recipient, or names an unknown agent, or
                ``run_id`` is empty, too long or not printable.
            StoreError: The store already has a run ``run_id``.
            asyncio.CancelledError: Re-raised after recording the run as ``interrupted``.
            Exception: The observer's own exception when it raised on the run's last
                events (after the run was recorded in full), or a fault in the runtime
                itself, re-raised after recording an ``Error`` and a ``Stop``.
        """
        budget = budget or Budget()
        graph.validate()
        first = self._check_first(graph, message)
        if run_id is None:
            run_id = uuid.uuid4().hex
        elif not (0 < len(run_id) <= 64 and run_id.isprintable() and run_id.strip() == run_id):
            raise UserError(
                f"run_id {run_id[:80]!r} is not usable: give 1 to 64 printable characters "
                "without surrounding spaces"
            )
        if self._telemetry is None:
            return await self._run(run_id, graph, first, budget, seed, observer, _replay)
        replay_of = _replay.run_id if _replay else None
        with self._telemetry.run_span(run_id, graph, budget, seed, replay_of) as finished:
            result = await self._run(run_id, graph, first, budget, seed, observer, _replay)
            finished(result)
            return result

    async def _run(
        self,
        run_id: str,
        graph: AgentGraph,
        first: Message,
        budget: Budget,
        seed: int,
        observer: Observer | None,
        _replay: ReplaySource | None,
    ) -> RunResult:
        state = self._new_state(run_id, graph, budget, seed, observer, _replay)
        first = self._stamp(state, first, sender="user", parent=None, recipients=first.recipients)
        if self._writer is not None:
            await self._writer.call(
                self._writer.store.create_run,
                RunRecord(
                    id=run_id,
                    created_at=self.clock(),
                    seed=seed,
                    budget=budget.as_dict(),
                    graph_mermaid=graph.to_mermaid(),
                    graph_source=graph.source,
                    initial_message=first,
                    replay_of=_replay.run_id if _replay else None,
                ),
            )
        started = RunStarted(
            run_id=run_id,
            graph=graph.to_mermaid(),
            budget=budget.as_dict(),
            seed=seed,
            timestamp=self.clock(),
        )
        try:
            await self._emit(state, started)
            reason, detail = await self._run_with_limits(state, first, budget)
        except asyncio.CancelledError:
            await self._finish(state, "interrupted", "cancelled (Ctrl-C or task cancellation)")
            raise
        except _ObserverFailed as exc:
            reason, detail = await self._runtime_failed(state, exc.error, str(exc))
        except Exception as exc:
            # A bug, not an agent's failure: record it so the run is not left running.
            await self._runtime_failed(state, exc, f"runtime error: {type(exc).__name__}: {exc}")
            await self._finish(state, "error", f"runtime error: {type(exc).__name__}: {exc}")
            raise
        return await self._finish(state, reason, detail)

    async def stream(
        self, graph: AgentGraph, message: Envelope, *, budget: Budget | None = None, seed: int = 0
    ) -> AsyncIterator[Event]:
        """Run like ``run`` and yield its events live, ending with ``RunStopped``."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        task = asyncio.create_task(
            self.run(graph, message, budget=budget, seed=seed, observer=queue.put_nowait)
        )
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    while not queue.empty():
                        yield queue.get_nowait()
                    await task  # re-raises the run's error, if any
                    return
                event = getter.result()
                yield event
                if isinstance(event, RunStopped):
                    await task
                    return
        finally:
            if not task.done():
                task.cancel()

    async def replay(
        self, run_id: str, graph: AgentGraph, *, observer: Observer | None = None
    ) -> ReplayReport:
        """Re-run a stored run with its recorded model replies and compare transcripts.

        ``graph`` is the caller's: nothing recorded with the run is imported or called.
        The recorded budget, seed and first message are data, validated as such."""
        if self._writer is None:
            raise UserError("replay needs a store: Runtime(store='sqlite:///lyceum.db')")
        store = self._writer.store
        record = await self._writer.call(store.get_run, run_id)
        source = ReplaySource(record.id, await self._writer.call(store.model_calls, record.id))
        first = record.initial_message
        try:
            budget = Budget(**record.budget)
        except (TypeError, UserError) as exc:
            raise UserError(
                f"run {record.id} records a budget that is not valid ({exc}); the store was "
                "changed outside lyceum, so it cannot be replayed as recorded"
            ) from None
        result = await self.run(
            graph, first, budget=budget, seed=record.seed, observer=observer, _replay=source
        )
        before = transcript(await self._writer.call(store.messages, record.id))
        after = result.transcript()
        diff = next(
            (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b), None
        )
        if diff is None and len(before) != len(after):
            diff = min(len(before), len(after))
        return ReplayReport(record.id, result, diff is None, diff)

    # -- internals ---------------------------------------------------------------------
    def _check_first(self, graph: AgentGraph, message: Envelope) -> Message:
        first = MESSAGE_ADAPTER.validate_python(message)
        if not first.recipients:
            raise UserError(
                f"the first message ({type(first).__name__}) names no recipient; pass to=agent, "
                f"e.g. to={next(iter(graph.agents))!r}"
            )
        for name in first.recipients:
            if name not in graph.agents:
                raise UserError(
                    f"the first message is addressed to unknown agent {name!r}; "
                    f"agents: {', '.join(graph.agents)}"
                )
        return first

    def _new_state(
        self,
        run_id: str,
        graph: AgentGraph,
        budget: Budget,
        seed: int,
        observer: Observer | None,
        replay: ReplaySource | None,
    ) -> _State:
        state: _State

        def warn(resource: str, used: float, limit: float) -> None:
            state.pending_events.append(
                BudgetWarning(
                    run_id=run_id, resource=resource, used=used, limit=limit, timestamp=self.clock()
                )
            )

        def emit(event: Event) -> None:
            state.pending_events.append(event)
            if isinstance(event, TokenDelta):
                self._flush_soon(state)

        def record(call: ModelCallRecord) -> None:
            state.step_calls.append(call)

        tracker = BudgetTracker(budget, warn=warn)
        gateway = (ModelGateway if self._telemetry is None else self._telemetry.gateway)(
            run_id=run_id,
            tracker=tracker,
            record=record if self.store is not None else None,
            emit=emit,
            clock=self.clock,
            replay=replay,
        )
        state = _State(run_id, graph, tracker, gateway, observer, seed)
        for name, agent in graph.agents.items():
            new_state = getattr(agent, "new_state", None)
            state.agent_states[name] = new_state() if callable(new_state) else None
        return state

    def _flush_soon(self, state: _State) -> None:
        """Deliver token deltas to the observer without waiting for the step to end."""
        if state.observer is not None and not state.finished:
            events, state.pending_events = state.pending_events, []
            for event in events:
                self._deliver_sync(state, event)

    def _observer_failed(self, state: _State, error: Exception) -> None:
        """Remember the observer's first exception and call it no more; the run loop then
        stops the run (see ``_emit``)."""
        state.observer = None
        if state.observer_error is None:
            state.observer_error = error

    def _deliver_sync(self, state: _State, event: Event) -> None:
        """Called from inside an agent's model stream: an observer's exception must not
        reach the agent, so it is remembered for the run loop."""
        if state.observer is None:
            return
        try:
            result = state.observer(event)
        except Exception as exc:  # noqa: BLE001 - stops the run with a typed Error
            self._observer_failed(state, exc)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            state.tasks.add(task)

            def done(task: asyncio.Future[Any]) -> None:
                state.tasks.discard(task)
                error = None if task.cancelled() else task.exception()
                if isinstance(error, Exception):
                    self._observer_failed(state, error)

            task.add_done_callback(done)

    async def _notify(self, state: _State, events: list[Event]) -> None:
        if state.tasks:  # token deltas still being delivered go first
            await asyncio.gather(*state.tasks, return_exceptions=True)
        for ev in events:
            if state.observer is None:
                return
            try:
                result = state.observer(ev)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # noqa: BLE001 - stops the run with a typed Error
                self._observer_failed(state, exc)

    async def _emit(
        self, state: _State, event: Event | None = None, message: Message | None = None
    ) -> None:
        """Add ``message`` (if any) and the pending events to the step's record (written
        when the step ends, see ``_flush``), then hand the events to the observer.

        Raises:
            _ObserverFailed: The observer raised (now or while tokens streamed); the run
                loop stops. Not raised once the run has its ``Stop``.
        """
        if state.finished:  # after the run's end nothing more is recorded
            state.pending_events = []
            return
        events, state.pending_events = state.pending_events, []
        if event is not None:
            events.append(event)
        if self._writer is not None:
            self._record(state, events, message)
        if state.observer is not None or state.tasks:
            await self._notify(state, events)
        if state.observer_error is None or state.gateway.closed or isinstance(message, Stop):
            return  # once the run has its Stop, _finish records it in full, then raises
        error, state.observer_error = state.observer_error, None
        raise _ObserverFailed(error)

    @staticmethod
    def _record(state: _State, events: list[Event], message: Message | None) -> None:
        for ev in events:
            if not isinstance(ev, TokenDelta):  # deltas are live only; the text is stored
                state.event_seq += 1
                state.step_events.append((state.event_seq, ev))
        if message is not None:
            state.step_messages.append((len(state.messages) - 1, message))

    def _flush(self, state: _State, finish: RunFinish | None = None) -> None:
        """End of a step: hand what it produced to the writer, to be written in one
        transaction; this never waits on the database.

        Raises:
            StoreError: An earlier step of this run could not be written.
        """
        if self._writer is None:
            return
        self._writer.check(state.run_id)
        if state.step_messages or state.step_events or state.step_calls or finish:
            self._writer.submit(
                StepRecord(
                    state.run_id,
                    tuple(state.step_messages),
                    tuple(state.step_events),
                    tuple(state.step_calls),
                    finish,
                )
            )
            state.step_messages, state.step_events, state.step_calls = [], [], []

    def _stamp(
        self,
        state: _State,
        message: Envelope,
        *,
        sender: str,
        parent: str | None,
        recipients: Sequence[str],
    ) -> Message:
        seq = len(state.messages)
        stamped = message.model_copy(
            update={
                "id": uuid.uuid5(uuid.NAMESPACE_URL, f"{state.run_id}/{seq}").hex,
                "run_id": state.run_id,
                "sender": sender,
                "recipients": tuple(recipients),
                "parent_id": message.parent_id or parent,
                "timestamp": self.clock(),
            }
        )
        return MESSAGE_ADAPTER.validate_python(stamped)

    async def _commit(self, state: _State, message: Message) -> None:
        sent = MessageSent(run_id=state.run_id, message=message, timestamp=self.clock())
        state.messages.append(message)
        await self._emit(state, sent, message)

    def _targets(self, graph: AgentGraph, sender: str, message: Envelope) -> list[str]:
        kind = type(message).__name__
        if not message.recipients:
            return graph.successors(sender, kind)
        for name in message.recipients:
            if name == USER:  # the outside world: recorded, never delivered
                continue
            if not graph.accepts(sender, name, kind):
                raise _RoutingError(
                    f"agent {sender!r} sent {kind} to {name!r}, but the graph has no edge "
                    f"{sender} → {name} accepting {kind}. Add "
                    f".edge({sender!r}, {name!r}, kinds=[{kind}]) or change the recipient."
                )
        return list(message.recipients)

    async def _run_with_limits(
        self, state: _State, first: Message, budget: Budget
    ) -> tuple[StopReason, str]:
        try:
            async with asyncio.timeout(budget.seconds) as limit:
                return await self._loop(state, first)
        except TimeoutError:
            if limit.expired():
                return "max_seconds", f"wall-time budget of {budget.seconds:g}s ran out"
            raise
        except BudgetExceeded as exc:
            return f"max_{exc.resource}", str(exc)  # type: ignore[return-value]

    async def _loop(self, state: _State, first: Message) -> tuple[StopReason, str]:
        await self._commit(state, first)
        self._flush(state)  # the first message is a step of its own
        pending: list[tuple[str, Message]] = [(name, first) for name in first.recipients]
        while pending:
            allowed = state.tracker.turns_left()
            if allowed <= 0:
                raise BudgetExceeded("turns", state.tracker.turns, state.tracker.budget.turns)
            over = len(pending) > allowed
            pending = pending[:allowed]
            state.tracker.use_turns(len(pending))
            outcome = await self._step(state, pending)
            pending = []
            for agent, incoming, replies, error in outcome:
                if error is not None:
                    return await self._agent_failed(state, agent, incoming, error)
                for reply in replies:
                    if isinstance(reply, Stop):  # addressed to the runtime, not routed
                        await self._commit(
                            state,
                            self._stamp(
                                state, reply, sender=agent, parent=incoming.id, recipients=()
                            ),
                        )
                        return reply.reason, reply.detail or f"{agent} stopped the run"
                    try:
                        targets = self._targets(state.graph, agent, reply)
                    except _RoutingError as exc:
                        return await self._agent_failed(state, agent, incoming, exc)
                    stamped = self._stamp(
                        state, reply, sender=agent, parent=incoming.id, recipients=targets
                    )
                    await self._commit(state, stamped)
                    pending.extend((name, stamped) for name in targets if name != USER)
            await self._emit(state)
            self._flush(state)
            if over:
                raise BudgetExceeded("turns", state.tracker.turns, state.tracker.budget.turns)
        return "completed", "no messages left to deliver"

    async def _step(
        self, state: _State, deliveries: list[tuple[str, Message]]
    ) -> list[tuple[str, Message, list[Envelope], BaseException | None]]:
        inboxes: dict[str, list[Message]] = {}
        telemetry = self._telemetry
        for name, message in deliveries:
            inboxes.setdefault(name, []).append(message)

        async def work(
            name: str, inbox: list[Message]
        ) -> list[tuple[str, Message, list[Envelope], BaseException | None]]:
            agent: Agent = state.graph.agents[name]
            handle = agent.handle if telemetry is None else telemetry.turn(agent, state.run_id)
            ctx = RunContext(
                run_id=state.run_id,
                agent=name,
                rng=state.rng(name),
                gateway=state.gateway,
                state=state.agent_states[name],
            )
            done: list[tuple[str, Message, list[Envelope], BaseException | None]] = []
            for message in inbox:
                try:
                    replies = list(await handle(message, ctx))
                except BudgetExceeded:
                    raise
                except Exception as exc:  # noqa: BLE001 - reported as a typed Error message
                    done.append((name, message, [], exc))
                    break
                bad = [r for r in replies if not isinstance(r, Envelope) or not hasattr(r, "kind")]
                if bad:
                    done.append(
                        (
                            name,
                            message,
                            [],
                            UserError(
                                f"agent {name!r} returned {bad[0]!r}; handle() must return messages"
                            ),
                        )
                    )
                    break
                done.append((name, message, replies, None))
            return done

        order = [n for n in state.graph.agents if n in inboxes]
        if len(order) == 1:
            return await work(order[0], inboxes[order[0]])
        # A TaskGroup, not gather: when one agent exhausts the budget, its siblings are
        # cancelled (and awaited) before the run records its Stop.
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(work(n, inboxes[n])) for n in order]
        except BaseExceptionGroup as failed:
            exceeded = [e for e in failed.exceptions if isinstance(e, BudgetExceeded)]
            if exceeded and len(exceeded) == len(failed.exceptions):
                raise exceeded[0] from None
            raise
        return [item for task in tasks for item in task.result()]

    async def _agent_failed(
        self, state: _State, agent: str, incoming: Message, error: BaseException
    ) -> tuple[StopReason, str]:
        detail = f"{type(error).__name__}: {error}"
        failure = Error(error_type=type(error).__name__, detail=str(error))
        await self._commit(
            state, self._stamp(state, failure, sender=agent, parent=incoming.id, recipients=())
        )
        return "error", f"agent {agent!r} failed: {detail}"

    async def _runtime_failed(
        self, state: _State, error: BaseException, detail: str
    ) -> tuple[StopReason, str]:
        """Record a failure that is no agent's (the observer's, or a bug) as an ``Error``."""
        if not state.messages or not isinstance(state.messages[-1], Stop):
            failure = Error(error_type=type(error).__name__, detail=detail)
            last = state.messages[-1].id if state.messages else None
            await self._commit(
                state, self._stamp(state, failure, sender="runtime", parent=last, recipients=())
            )
        return "error", detail

    async def _finish(self, state: _State, reason: StopReason, detail: str) -> RunResult:
        """Record the ``Stop`` and the run's outcome. From here on the run's gateway refuses
        model calls and nothing more is written for the run."""
        state.gateway.close()
        if not state.messages or not isinstance(state.messages[-1], Stop):
            stop = Stop(reason=reason, detail=detail)
            last = state.messages[-1].id if state.messages else None
            await self._commit(
                state, self._stamp(state, stop, sender="runtime", parent=last, recipients=())
            )
        usage = state.tracker.usage()
        stopped = RunStopped(
            run_id=state.run_id, reason=reason, detail=detail, usage=usage, timestamp=self.clock()
        )
        events, state.pending_events = [*state.pending_events, stopped], []
        # The last step: the Stop, the last events and the run's outcome, in one transaction.
        if self._writer is not None:
            self._record(state, events, None)
        self._flush(
            state,
            RunFinish(
                status=_STATUS.get(reason, "stopped"),
                reason=reason,
                detail=detail,
                usage=usage,
                finished_at=self.clock(),
            ),
        )
        state.finished = True  # from here on nothing more is recorded
        if self._writer is not None:
            await self._writer.drain(state.run_id)
        if state.observer is not None or state.tasks:
            await self._notify(state, events)
        if state.observer_error is not None:
            # It raised on the run's last events, after the run was recorded in full.
            raise state.observer_error
        return RunResult(state.run_id, reason, detail, list(state.messages), usage)
