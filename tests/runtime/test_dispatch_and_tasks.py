"""The shell's command table (dispatch), its tracked order tasks, and the health verdicts."""

from __future__ import annotations

import asyncio
from typing import get_args

import pytest

from adapters.ports import FeedStats
from daemon.core.commands import Command
from daemon.runtime import health
from daemon.runtime.dispatch import Dispatcher
from daemon.runtime.order_tasks import ALL_BUT_LOOKUPS, SENDING, OrderTasks, TaskKind


def _bare_dispatcher() -> Dispatcher:
    """A table with nothing behind it: enough to read the table and to refuse a command."""
    return Dispatcher(calls=None, tasks=OrderTasks(), timers=None, observer=None,  # type: ignore[arg-type]
                      metrics=None, journal=None, now=lambda: None, dry_run=False)  # type: ignore[arg-type,return-value]


def test_every_core_command_has_a_shell_action() -> None:
    table = _bare_dispatcher().handlers
    commands = set(get_args(Command))
    assert commands, "the Command union lists the core's commands"
    assert set(table) == commands, f"missing: {commands - set(table)}, extra: {set(table) - commands}"


def test_a_command_without_an_action_is_refused_by_name() -> None:
    class NewCommand:
        pass

    with pytest.raises(TypeError, match=r"NewCommand.*Dispatcher\.handlers"):
        _bare_dispatcher().dispatch([NewCommand()], None)  # type: ignore[list-item]


async def test_tasks_are_counted_by_kind_and_what_fails_is_dropped() -> None:
    tasks = OrderTasks()
    gate = asyncio.Event()

    async def waits() -> None:
        await gate.wait()

    async def fails() -> None:
        raise ConnectionError("venue down")

    tasks.spawn(waits(), TaskKind.LOOKUP, "rb-1")
    tasks.spawn(waits(), TaskKind.SUBMIT, "rb-2")
    tasks.spawn(fails(), TaskKind.CANCEL, "rb-3")
    assert tasks.running(SENDING) == 2  # submit and the cancel, not yet run
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(tasks) == 2  # the failed cancel is logged and gone
    assert tasks.running(SENDING) == 1
    assert tasks.running(ALL_BUT_LOOKUPS) == 1
    assert tasks.running({TaskKind.LOOKUP}) == 1
    gate.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(tasks) == 0 and tasks.running(TaskKind) == 0


async def test_aclose_cancels_and_waits_for_what_is_left() -> None:
    tasks = OrderTasks()
    seen: list[str] = []

    async def hangs() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    for i in range(3):
        tasks.spawn(hangs(), TaskKind.LOOKUP, f"rb-{i}")
    await asyncio.sleep(0)
    await tasks.aclose()
    assert seen == ["cancelled"] * 3
    await asyncio.sleep(0)
    assert len(tasks) == 0
    await tasks.aclose()  # idempotent


def test_readiness_names_every_reason() -> None:
    down = {"market_data": FeedStats(True, 0, 0.1, 5, 0), "trade_updates": FeedStats(False, 2, 9.0, 0, 0)}
    ok, detail = health.readiness(stopping=True, ready=False, streams=down, journal_down=True,
                                  snap=None, reconcile_waited_seconds=None)
    assert not ok
    assert detail["reasons"] == [
        "stopping", "not yet reconciled or no fresh quotes", "trade_updates stream disconnected",
        "journal writes failing (disk full or read-only state directory): no new decisions"]
    up = {k: FeedStats(True, 0, 0.1, 5, 0) for k in down}
    assert health.readiness(stopping=False, ready=True, streams=up, journal_down=False,
                            snap=None, reconcile_waited_seconds=None) == (True, {"reasons": []})
    assert health.ready_wait_detail(None, down) == {"streams_down": ["trade_updates"]}


def test_liveness_and_the_wait_clock() -> None:
    assert health.liveness(health.CONSUMER_STALL_SECONDS - 0.5)[0]
    assert not health.liveness(health.CONSUMER_STALL_SECONDS)[0]
    w = health.Waiting()
    assert w.seconds(100.0) is None
    w.note(True, 100.0)
    w.note(True, 105.0)  # still the first moment it held
    assert w.seconds(131.0) == 31.0
    w.note(False, 132.0)
    assert w.seconds(140.0) is None


async def test_a_decision_is_journaled_before_its_orders_group_commit() -> None:
    """The group's barrier fsyncs everything put before it: the decision that explains the
    orders must be put before their intents, or a power cut keeps the intents of orders the
    broker has without the decision (its reasons and plan) that placed them."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from daemon.core.commands import PlaceOrder, RecordDecision
    from daemon.core.model import Side
    from daemon.core.planning.plan import Plan
    from daemon.runtime.venue_calls import VenueCalls

    t = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    writes: list[str] = []

    class Journal:
        def record_command(self, cmd: Command) -> None:
            writes.append(type(cmd).__name__)

        def record_intents(self, orders: list[PlaceOrder]) -> list[asyncio.Future[None]]:
            writes.append(f"intents x{len(orders)}")
            loop = asyncio.get_running_loop()
            out = [loop.create_future() for _ in orders]
            for f in out:
                f.set_result(None)
            return out

    class Observer:
        def __init__(self) -> None:
            self.last_mid: dict[str, float] = {}

        def placed(self, cmd: PlaceOrder, dry_run: bool) -> None:
            pass

        def decision(self, cmd: RecordDecision, latency: float | None) -> None:
            pass

    journal = Journal()
    emitted: list[object] = []
    calls = VenueCalls(None, journal, None, emitted.append, lambda: t, dry_run=True)  # type: ignore[arg-type]
    tasks = OrderTasks()
    d = Dispatcher(calls=calls, tasks=tasks, timers=None, observer=Observer(),  # type: ignore[arg-type]
                   metrics=None, journal=journal, now=lambda: t, dry_run=True)  # type: ignore[arg-type]
    plan = Plan(t, True, ("drift",), Decimal(1000), {})
    orders = [PlaceOrder(f"rb-x-{i:08d}", "VTI", Side.BUY, Decimal(1), Decimal(100), None,
                         decision_id="d1") for i in range(2)]
    d.dispatch([RecordDecision("d1", plan), *orders], None)
    await tasks.aclose()
    assert writes == ["RecordDecision", "intents x2"]
