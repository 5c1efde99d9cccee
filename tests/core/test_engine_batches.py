"""``QuoteBatch``: the quotes of one frame, handled as one event.

How a batch relates to its quotes one by one (``daemon/core/engine/quotes``):

- state: a batch leaves the engine exactly as its quotes one by one do (prices, drift,
  weights, suspected splits), in any trigger mode, however a stream is cut into batches;
- commands: the same split alerts in the same order; the one difference is *when* a breach
  decides: after the batch's last quote, at the batch's time, with all of its prices, and at
  most once. So when one by one only the last quote decided (or none did), batch and one by
  one give the same commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from daemon.core import events as ev
from daemon.core.commands import Command, PlaceOrder, RecordDecision, RequestReconcile
from daemon.core.config.values import TriggerMode
from daemon.core.engine.kernel import Engine
from tests.core.engine_scenario import RUN, T0, feed, make_config, ready_events

SYMBOLS = ("VTI", "BND", "XYZ")  # XYZ: quoted, not a target


@st.composite
def quote_lists(draw: st.DrawFn, min_size: int = 1) -> list[ev.QuoteUpdated]:
    """Quotes at ms steps after T0, each symbol a walk from 100: small moves, moves of up
    to 30 % (breaches), split-sized jumps (x3, x1/3) and bad quotes (crossed, zero bid)
    that the tracker ignores."""
    n = draw(st.integers(min_size, 30))
    px = dict.fromkeys(SYMBOLS, 100.0)
    out = []
    for i in range(n):
        sym = draw(st.sampled_from(SYMBOLS))
        step = draw(
            st.one_of(st.floats(0.97, 1.03), st.floats(0.7, 1.3), st.sampled_from([3.0, 1 / 3]))
        )
        mid = px[sym] = px[sym] * step
        kind = draw(st.sampled_from(["ok", "ok", "ok", "crossed", "zero"]))
        bid, ask = mid - 0.01, mid + 0.01
        if kind == "crossed":
            bid, ask = ask, bid
        elif kind == "zero":
            bid = 0.0
        out.append(ev.QuoteUpdated(T0 + timedelta(milliseconds=i + 1), sym, bid, ask))
    return out


def engine(mode: TriggerMode) -> Engine:
    e = Engine(make_config(mode=mode), RUN)
    feed(e, ready_events(cash="200", positions={"VTI": "60", "BND": "38"}))  # in band
    return e


def batches(quotes: Sequence[ev.QuoteUpdated], cuts: set[int]) -> list[ev.QuoteBatch]:
    """``quotes`` cut before every index in ``cuts``; each batch at its newest quote."""
    out: list[ev.QuoteBatch] = []
    start = 0
    for i in [*sorted(c for c in cuts if 0 < c < len(quotes)), len(quotes)]:
        part = tuple(quotes[start:i])
        out.append(ev.QuoteBatch(part[-1].at, part))
        start = i
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    quote_lists(),
    st.sets(st.integers(1, 29)),
    st.sampled_from([TriggerMode.CALENDAR, TriggerMode.THRESHOLD]),
)
def test_a_stream_cut_into_batches_leaves_the_state_one_by_one_leaves(
    quotes: list[ev.QuoteUpdated], cuts: set[int], mode: TriggerMode
) -> None:
    one, many = engine(mode), engine(mode)
    cmds_one = feed(one, quotes)
    cmds_many = feed(many, batches(quotes, cuts))
    assert many.quotes() == one.quotes()
    if mode is TriggerMode.CALENDAR:  # quotes never decide: everything is the same
        assert cmds_many == cmds_one
        assert many.snapshot() == one.snapshot()
    else:  # decisions may come at other times; the market and drift state may not differ
        s_one, s_many = one.snapshot(), many.snapshot()
        for f in ("portfolio_value", "rows", "out_of_band", "portfolio_drift", "holdings"):
            assert getattr(s_many, f) == getattr(s_one, f), f
        assert _alerts(cmds_many) == _alerts(cmds_one)


def _alerts(cmds: list[Command]) -> list[Command]:
    """The commands a quote causes without deciding (split suspicions)."""
    return [c for c in cmds if type(c).__name__ in ("Alert", "RequestReconcile")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(quote_lists())
def test_a_batch_decides_once_after_its_last_quote(quotes: list[ev.QuoteUpdated]) -> None:
    one, batch = engine(TriggerMode.THRESHOLD), engine(TriggerMode.THRESHOLD)
    per_quote = [one.handle(q) for q in quotes]
    cmds_one = [c for cmds in per_quote for c in cmds]
    cmds = batch.handle(ev.QuoteBatch(quotes[-1].at, tuple(quotes)))
    kinds = [type(c) for c in cmds]
    assert kinds.count(RecordDecision) <= 1
    if RecordDecision in kinds:  # the decision and its orders come after every alert
        first = kinds.index(RecordDecision)
        assert _alerts(cmds[first:]) == [] or all(
            type(c) is not RecordDecision for c in cmds[first + 1 :]
        )
        assert _alerts(cmds) == _alerts(cmds_one)
    earlier = [c for cmds_q in per_quote[:-1] for c in cmds_q]
    event(
        f"batch decided: {RecordDecision in kinds}; decided before the last quote: "
        f"{any(isinstance(c, RecordDecision) for c in earlier)}"
    )
    held_back = any(isinstance(c, RequestReconcile) for c in cmds_one)
    if not any(isinstance(c, RecordDecision) for c in earlier) and not held_back:
        # nothing decided before the last quote (in this setup a breach with no run in
        # progress and no split hold always decides): the batch is its quotes one by one.
        # Not under a split hold: a breach while held decides nothing one by one, and if
        # the hold ends within the batch the batch decides at its end, with the drift then,
        # where one by one waits for the next check (a Hypothesis-found case)
        assert cmds == cmds_one


def test_a_breach_early_in_a_batch_is_planned_with_the_batch_s_last_prices() -> None:
    """One by one, a breach plans with the prices up to it; the batch plans with them all."""
    t = T0 + timedelta(milliseconds=1)
    qs = (
        ev.QuoteUpdated(t, "VTI", 139.99, 140.01),  # VTI 60 % → 74 %: out of band
        ev.QuoteUpdated(t, "BND", 109.99, 110.01),  # BND up too: VTI 66 %, less to sell
    )
    one = engine(TriggerMode.THRESHOLD)
    first = one.handle(qs[0])
    assert any(isinstance(c, RecordDecision) for c in first)
    batch = engine(TriggerMode.THRESHOLD)
    cmds = batch.handle(ev.QuoteBatch(t, qs))
    [decision] = [c for c in cmds if isinstance(c, RecordDecision)]
    [early] = [c for c in first if isinstance(c, RecordDecision)]
    sells = [c for c in cmds if isinstance(c, PlaceOrder) and c.symbol == "VTI"]
    early_sells = [c for c in first if isinstance(c, PlaceOrder) and c.symbol == "VTI"]
    assert decision.plan != early.plan
    assert sells and early_sells and sells[0].qty != early_sells[0].qty
    assert batch.quotes()["BND"].bid == 109.99


def test_a_batch_that_breaches_and_comes_back_does_not_decide() -> None:
    t = T0 + timedelta(milliseconds=1)
    out, back = ev.QuoteUpdated(t, "VTI", 139.99, 140.01), ev.QuoteUpdated(t, "VTI", 99.99, 100.01)
    assert any(isinstance(c, RecordDecision) for c in engine(TriggerMode.THRESHOLD).handle(out))
    assert engine(TriggerMode.THRESHOLD).handle(ev.QuoteBatch(t, (out, back))) == []


def test_an_empty_batch_does_nothing() -> None:
    e = engine(TriggerMode.THRESHOLD)
    before = e.snapshot()
    assert e.handle(ev.QuoteBatch(T0, ())) == []
    assert e.snapshot().rows == before.rows
