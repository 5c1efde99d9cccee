"""``MarketStatsBatch``: the statistics of many symbols (a backtest row) in one event. The
engine takes them exactly as the same ``MarketStatsUpdated`` events one by one: the
planner's quotes (ADV, σ per symbol) come out equal, and neither returns a command."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from daemon.core import events as ev
from daemon.core.config.values import TriggerMode
from daemon.core.engine.kernel import Engine
from tests.core.engine_scenario import RUN, T0, feed, make_config, ready_events

SYMBOLS = ("VTI", "BND", "XYZ")  # XYZ: quoted, not a target
stat = st.one_of(st.none(), st.floats(1e-6, 1e9))
rows = st.lists(st.tuples(st.sampled_from(SYMBOLS), stat, stat), max_size=12)


def engine() -> Engine:
    e = Engine(make_config(mode=TriggerMode.CALENDAR), RUN)
    feed(e, ready_events(cash="200", positions={"VTI": "60", "BND": "38"}))
    e.handle(ev.QuoteUpdated(T0, "XYZ", 10.0, 10.02))
    return e


@given(first=rows, second=rows)
def test_a_batch_is_its_stats_one_by_one(
    first: list[tuple[str, float | None, float | None]],
    second: list[tuple[str, float | None, float | None]],
) -> None:
    one_by_one, batched = engine(), engine()
    for stats in (first, second):  # a second batch keeps what the first did not change
        for sym, adv, sigma in stats:
            assert one_by_one.handle(ev.MarketStatsUpdated(T0, sym, adv, sigma)) == []
        assert batched.handle(ev.MarketStatsBatch(T0, tuple(stats))) == []
        assert batched.quotes() == one_by_one.quotes()


def test_a_batch_sets_each_symbol_and_none_keeps_the_last_figure() -> None:
    e = engine()
    e.handle(ev.MarketStatsBatch(T0, (("VTI", 1e6, 0.01), ("XYZ", 5e5, 0.03))))
    e.handle(ev.MarketStatsBatch(T0, (("VTI", None, 0.02), ("XYZ", 7e5, None))))
    q = e.quotes()
    assert (q["VTI"].adv, q["VTI"].sigma) == (1e6, 0.02)
    assert (q["XYZ"].adv, q["XYZ"].sigma) == (7e5, 0.03)
