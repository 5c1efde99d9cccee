"""TargetsChanged: the engine swaps the targets, re-measures drift and lets the bands decide;
a bad event is refused and the old targets stay."""

from __future__ import annotations

from datetime import date

from adapters.store import codec
from daemon.core import events as ev
from daemon.core.commands import Alert
from daemon.core.config.values import TriggerMode
from daemon.core.engine.kernel import Engine
from tests.core.engine_scenario import (
    RUN,
    at,
    check,
    feed,
    make_config,
    places,
    ready_events,
    started,
)


def changed(t, targets, source="model:test"):  # type: ignore[no-untyped-def]
    return ev.TargetsChanged(
        t, tuple(targets.items()), source, date(2025, 11, 1), date(2026, 10, 30), 252
    )


def targets_of(engine: Engine) -> dict[str, float]:
    return {a.symbol: a.target for a in engine.config.portfolio.assets}


def test_new_targets_inside_the_bands_trade_nothing() -> None:
    # holdings 70 VTI + 30 BND at $100, no cash: weights 70 % / 30 % / cash 0 %
    engine = started()
    cmds = engine.handle(changed(at(0.5), {"VTI": 0.68, "BND": 0.30}))
    assert places(cmds) == []  # never a rebalance by itself
    assert [c.severity for c in cmds if isinstance(c, Alert)] == ["info"]
    assert targets_of(engine) == {"VTI": 0.68, "BND": 0.30}
    assert engine.config.portfolio.cash_target == 0.02  # kept
    # the bands now decide: 70 % vs 68 % ± 5, 30 % vs 30 %, cash 0 vs 2 ± 2 → all inside
    assert places(engine.handle(check(at(1)))) == []


def test_new_targets_outside_the_bands_trade_at_the_next_check_toward_them() -> None:
    engine = Engine(make_config(targets={"VTI": 0.70, "BND": 0.28}), RUN)
    engine = started(engine)
    assert places(engine.handle(check(at(1)))) == []  # 70/30 vs 70/28: inside
    cmds = engine.handle(changed(at(2), {"VTI": 0.50, "BND": 0.48}))
    assert places(cmds) == []
    orders = places(engine.handle(check(at(3))))
    sides = {o.symbol: o.side.value for o in orders}
    assert sides == {"VTI": "sell"}  # buys wait for the sale's cash (a later round)
    [sell] = orders
    assert sell.qty is not None and 19 <= float(sell.qty) <= 21  # 70 → 50 % of $10,000


def test_calendar_mode_waits_for_its_date_whatever_the_new_targets() -> None:
    engine = Engine(make_config(targets={"VTI": 0.70, "BND": 0.28}, mode=TriggerMode.CALENDAR), RUN)
    engine = started(engine)
    engine.handle(changed(at(2), {"VTI": 0.50, "BND": 0.48}))
    assert places(engine.handle(check(at(3)))) == []  # calendar mode, not a calendar date


def test_a_bad_event_is_refused_and_the_old_targets_stay() -> None:
    engine = started()
    before = targets_of(engine)
    for bad in (
        {"VTI": 0.60, "BND": 0.30},  # + cash 2 % = 92 %
        {"VTI": 0.98},  # BND missing
        {"VTI": 0.50, "BND": 0.38, "GLD": 0.10},  # not a target
        {"VTI": float("nan"), "BND": 0.38},
        {"VTI": 1.0, "BND": -0.02},
    ):
        cmds = engine.handle(changed(at(1), bad))
        [alert] = cmds
        assert isinstance(alert, Alert) and alert.severity == "warning"
        assert "refused" in alert.message and "old targets stay" in alert.message
        assert targets_of(engine) == before


def test_journal_round_trip_and_replay_give_the_same_commands() -> None:
    e = changed(at(2), {"VTI": 0.5, "BND": 0.48})
    text = codec.dumps(e)
    assert codec.loads(codec.kind_of(e), text) == e
    events = [*ready_events(), check(at(1)), e, check(at(3))]
    a = feed(Engine(make_config(targets={"VTI": 0.70, "BND": 0.28}), RUN), events)
    replayed = [codec.loads(codec.kind_of(x), codec.dumps(x)) for x in events]
    b = feed(Engine(make_config(targets={"VTI": 0.70, "BND": 0.28}), RUN), replayed)
    assert a == b and places(a)
