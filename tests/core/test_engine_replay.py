"""Determinism: a recorded event stream fed to a fresh Engine gives the same commands.

``drive`` plays a small deterministic broker around the engine (acks, partial and full
fills, cancels, timers, lookups, a seeded random walk of quotes) and records every event the
engine saw. Replaying that record must reproduce the command stream exactly (dataclass
equality), in this process and in processes with other hash seeds.
"""

from __future__ import annotations

import heapq
import json
import os
import random
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from daemon.core import events as ev
from daemon.core.commands import (
    CancelOrder,
    Command,
    LookupOrder,
    PlaceOrder,
    ScheduleWakeup,
)
from daemon.core.engine.kernel import Engine
from daemon.core.model import Side, TradingState
from tests.core.engine_scenario import RUN, at, clock, make_config, quotes, snapshot

TARGETS = {"VTI": 0.35, "VXUS": 0.25, "BND": 0.2, "VNQ": 0.18}


def drive(
    seed: int, seconds: float = 400.0, *, batched: bool = False
) -> tuple[list[ev.Event], list[Command]]:
    """Run the engine against a toy broker for ``seconds`` of event time. ``batched``: each
    second's quotes come as one ``QuoteBatch`` (a websocket frame) instead of one by one."""
    rnd = random.Random(seed)
    engine = Engine(make_config(TARGETS, burst=2, orders_per_minute=30.0, max_in_flight=3), RUN)
    prices = {"VTI": 100.0, "VXUS": 50.0, "BND": 80.0, "VNQ": 30.0}
    heap: list[tuple[datetime, int, ev.Event]] = []
    n = 0

    def push(event: ev.Event) -> None:
        nonlocal n
        heapq.heappush(heap, (event.at, n, event))
        n += 1

    push(snapshot(at(0), "1000", {"VTI": "90", "VXUS": "40", "BND": "30", "VNQ": "20"}))
    push(clock(at(0)))
    for i in range(int(seconds)):
        t = at(i + 0.5)
        for s in prices:
            prices[s] = round(prices[s] * (1 + rnd.gauss(0, 0.004)), 2)
        if batched:
            push(ev.QuoteBatch(t, tuple(quotes(t, prices))))
        else:
            for q in quotes(t, prices):
                push(q)
    timers: dict[str, datetime] = {}
    filled: dict[str, Decimal] = {}
    recorded: list[ev.Event] = []
    commands: list[Command] = []
    end = at(seconds)
    while heap:
        t, _, event = heapq.heappop(heap)
        if t > end:
            break
        if isinstance(event, ev.TimerFired) and timers.get(event.key) != t:
            continue  # replaced by a later ScheduleWakeup with the same key
        recorded.append(event)
        cmds = engine.handle(event)
        commands.extend(cmds)
        for c in cmds:
            if isinstance(c, ScheduleWakeup):
                timers[c.key] = max(c.at, t)
                push(ev.TimerFired(max(c.at, t), c.key))
            elif isinstance(c, PlaceOrder):
                _answer_place(c, t, rnd, push, filled)
            elif isinstance(c, CancelOrder):
                push(ev.OrderCanceled(t + timedelta(seconds=0.2), c.client_order_id))
            elif isinstance(c, LookupOrder):
                push(ev.OrderNotFound(t + timedelta(seconds=0.1), c.client_order_id))
    return recorded, commands


def _answer_place(
    c: PlaceOrder, t: datetime, rnd: random.Random, push: object, filled: dict[str, Decimal]
) -> None:
    assert callable(push) and c.qty is not None and c.limit_price is not None
    coid = c.client_order_id
    roll = rnd.random()
    if roll < 0.1:
        push(
            ev.OrderSubmitFailed(
                t + timedelta(seconds=0.1), coid, ev.SubmitOutcome.UNKNOWN, "timeout"
            )
        )
        return
    if roll < 0.15:
        push(ev.OrderRejected(t + timedelta(seconds=0.1), coid, "no"))
        return
    push(ev.OrderAccepted(t + timedelta(seconds=0.1), coid, "b-" + coid))
    if roll < 0.25:
        return  # rests until the order timeout cancels it
    half = (c.qty / 2).quantize(Decimal("0.000000001"))
    for k, cum in enumerate((half, c.qty)):
        fill = ev.OrderFilled(
            t + timedelta(seconds=0.3 + k),
            coid,
            f"x-{coid}-{k}",
            cum - filled.get(coid, Decimal(0)),
            c.limit_price,
            cum,
            "b-" + coid,
        )
        filled[coid] = cum
        push(fill)
        if k == 0 and roll < 0.4:
            push(fill)  # a duplicate execution report


@pytest.mark.parametrize("batched", [False, True])
def test_the_driven_scenario_trades(batched: bool) -> None:
    """Guard for the tests below: the scenario is not trivially empty."""
    recorded, commands = drive(7, batched=batched)
    placed = [c for c in commands if isinstance(c, PlaceOrder)]
    assert len(placed) >= 3
    assert {p.side for p in placed} == {Side.SELL, Side.BUY}
    assert len({p.client_order_id for p in placed}) == len(placed)
    assert any(isinstance(e, ev.OrderFilled) for e in recorded)


@pytest.mark.parametrize("batched", [False, True])
def test_replaying_the_record_gives_the_same_commands(batched: bool) -> None:
    for seed in (1, 2, 3):
        recorded, commands = drive(seed, batched=batched)
        assert batched == any(isinstance(e, ev.QuoteBatch) for e in recorded)
        fresh = Engine(make_config(TARGETS, burst=2, orders_per_minute=30.0, max_in_flight=3), RUN)
        replayed = [c for e in recorded for c in fresh.handle(e)]
        assert replayed == commands


def test_a_different_run_id_changes_only_the_ids() -> None:
    recorded, commands = drive(4)
    other = Engine(make_config(TARGETS, burst=2, orders_per_minute=30.0, max_in_flight=3), "other")
    replayed = [c for e in recorded for c in other.handle(e)]
    placed = [c for c in commands if isinstance(c, PlaceOrder)]
    placed_other = [c for c in replayed if isinstance(c, PlaceOrder)]
    # (the recorded order events name the first run's ids, so only the first batch compares)
    assert placed and placed_other
    assert all(p.client_order_id.startswith("rb-other-") for p in placed_other)
    a = placed[0]
    b = placed_other[0]
    assert (a.symbol, a.side, a.qty, a.limit_price) == (b.symbol, b.side, b.qty, b.limit_price)


_CHILD = """
import sys
from tests.core.test_engine_replay import drive
recorded, commands = drive(5, 200.0)
print(len(recorded))
print(repr(commands))
"""


def test_the_command_stream_does_not_depend_on_the_hash_seed() -> None:
    root = Path(__file__).resolve().parents[2]
    outputs = []
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)}
        out = subprocess.run(
            [sys.executable, "-c", _CHILD],
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
            env=env,
        )
        outputs.append(out.stdout)
    assert outputs[0] == outputs[1]
    recorded, commands = drive(5, 200.0)
    assert outputs[0] == f"{len(recorded)}\n{commands!r}\n"
    assert json.dumps(outputs[0]).count("PlaceOrder") >= 1


# -- Hypothesis: random event sequences -----------------------------------------------------

COIDS = [f"rb-{RUN}-{i:08d}" for i in range(6)]
SYMBOLS = ["VTI", "VXUS", "BND", "VNQ"]

_dt = st.floats(min_value=0.0, max_value=30.0)
_price = st.floats(min_value=5.0, max_value=200.0)


def _event_strategy() -> st.SearchStrategy[tuple[str, tuple[object, ...]]]:
    coid = st.sampled_from(COIDS)
    qty = st.integers(1, 50)
    return st.one_of(
        st.tuples(st.just("quote"), st.tuples(st.sampled_from(SYMBOLS), _price)),
        st.tuples(st.just("check"), st.tuples()),
        st.tuples(st.just("throttle"), st.tuples()),
        st.tuples(st.just("accepted"), st.tuples(coid)),
        st.tuples(st.just("filled"), st.tuples(coid, st.integers(0, 3), qty)),
        st.tuples(st.just("canceled"), st.tuples(coid)),
        st.tuples(st.just("rejected"), st.tuples(coid)),
        st.tuples(st.just("unknown"), st.tuples(coid, st.booleans())),
        st.tuples(st.just("not_found"), st.tuples(coid)),
        st.tuples(st.just("lookup_timer"), st.tuples(coid)),
        st.tuples(st.just("timeout_timer"), st.tuples(coid)),
        st.tuples(
            st.just("feed"),
            st.tuples(st.sampled_from(["market_data", "trade_updates"]), st.booleans()),
        ),
        st.tuples(st.just("snapshot"), st.tuples(st.integers(0, 200), st.integers(0, 5000))),
        st.tuples(st.just("state"), st.tuples(st.sampled_from(list(TradingState)))),
        st.tuples(st.just("halt_symbol"), st.tuples(st.sampled_from(SYMBOLS), st.booleans())),
        st.tuples(st.just("rebalance"), st.tuples(st.booleans())),
        st.tuples(st.just("clock"), st.tuples(st.booleans())),
        st.tuples(st.just("shutdown"), st.tuples(st.booleans())),
        st.tuples(st.just("reload"), st.tuples(st.integers(1, 3))),
        st.tuples(st.just("stats"), st.tuples(st.sampled_from(SYMBOLS))),
    )


def _build(kind: str, args: Sequence[object], t: datetime) -> ev.Event:
    a = list(args)
    if kind == "quote":
        return quotes(t, {str(a[0]): float(a[1])})[0]  # type: ignore[arg-type]
    if kind == "check":
        return ev.TimerFired(t, "check")
    if kind == "throttle":
        return ev.TimerFired(t, "throttle")
    if kind == "accepted":
        return ev.OrderAccepted(t, str(a[0]), "b-" + str(a[0]))
    if kind == "filled":
        q = Decimal(int(a[2]))  # type: ignore[call-overload]
        return ev.OrderFilled(t, str(a[0]), f"x{a[1]}", q, Decimal(50), q, "b")
    if kind == "canceled":
        return ev.OrderCanceled(t, str(a[0]))
    if kind == "rejected":
        return ev.OrderRejected(t, str(a[0]), "r")
    if kind == "unknown":
        outcome = ev.SubmitOutcome.UNKNOWN if a[1] else ev.SubmitOutcome.NOT_SENT
        return ev.OrderSubmitFailed(t, str(a[0]), outcome, "x")
    if kind == "not_found":
        return ev.OrderNotFound(t, str(a[0]))
    if kind == "lookup_timer":
        return ev.TimerFired(t, "lookup:" + str(a[0]))
    if kind == "timeout_timer":
        return ev.TimerFired(t, "order-timeout:" + str(a[0]))
    if kind == "feed":
        return (ev.FeedLost if a[1] else ev.FeedRestored)(t, str(a[0]))
    if kind == "snapshot":
        return snapshot(t, str(a[1]), {"VTI": str(a[0]), "BND": "10"})
    if kind == "state":
        return ev.TradingStateRequested(t, a[0])  # type: ignore[arg-type]
    if kind == "halt_symbol":
        return ev.TradingStatusChanged(t, str(a[0]), bool(a[1]))
    if kind == "rebalance":
        return ev.RebalanceRequested(t, force=bool(a[0]))
    if kind == "clock":
        return replace(clock(t, is_open=bool(a[0])), at=t)
    if kind == "shutdown":
        return ev.ShutdownRequested(t, cancel_open_orders=bool(a[0]))
    if kind == "reload":
        n = int(a[0])  # type: ignore[call-overload]
        return ev.ConfigReloaded(t, make_config(TARGETS, burst=n, max_in_flight=n, max_rounds=n))
    if kind == "stats":
        return ev.MarketStatsUpdated(t, str(a[0]), adv=1e6, sigma=0.02)
    raise AssertionError(kind)  # pragma: no cover


@settings(
    max_examples=int(os.environ.get("ENGINE_REPLAY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.tuples(_dt, _event_strategy()), min_size=1, max_size=60))
def test_random_event_sequences_replay_identically(
    steps: list[tuple[float, tuple[str, tuple[object, ...]]]],
) -> None:
    config = make_config(TARGETS, burst=2, orders_per_minute=30.0, max_in_flight=3)
    start = [
        snapshot(at(0), "1000", {"VTI": "90", "VXUS": "40", "BND": "30", "VNQ": "20"}),
        clock(at(0)),
        *quotes(at(0), {"VTI": 100.0, "VXUS": 50.0, "BND": 80.0, "VNQ": 30.0}),
        ev.TimerFired(at(0), "check"),  # out of band: the first orders go out here
    ]
    events: list[ev.Event] = list(start)
    t = at(0)
    for dt, (kind, args) in steps:
        t = t + timedelta(seconds=dt)
        events.append(_build(kind, args, t))
    a, b = Engine(config, RUN), Engine(config, RUN)
    placed: set[str] = set()
    for e in events:
        ca = a.handle(e)
        assert ca == b.handle(e)
        new = [c.client_order_id for c in ca if isinstance(c, PlaceOrder)]
        assert not placed.intersection(new), "a client order id was sent twice"
        assert len(set(new)) == len(new)
        placed.update(new)
        if new:
            assert a.blockers(e.at, need_quotes=False) == []
    assert a.snapshot() == b.snapshot()
    event(f"orders placed: {min(len(placed), 3)}{'+' if len(placed) >= 3 else ''}")
