"""A frame's quotes in one call against the same quotes one by one.

- ``DriftTracker.update_quotes(batch)`` leaves exactly the state (every slot, V bit for bit,
  the extremes, the breach flag) that ``update_quote`` for each quote leaves, and returns
  True iff one of those calls did, however a stream is cut into batches, with fills between
  batches and with the periodic exact re-sum of V falling inside batches;
- ``Engine.handle(QuoteBatch)`` gives exactly the commands and the state of the reference
  definition of a batch (``OneByOne``: each quote through ``_take``, then at most one
  decision, after the last quote), batch by batch, with the orders it places filled in
  between so that later breaches decide again;
- a stream as single-quote batches and as frames leaves the same drift state at the end of
  every frame; a single-quote batch gives the commands of the ``QuoteUpdated`` it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from daemon.core import events as ev
from daemon.core.commands import Command, PlaceOrder, RecordDecision
from daemon.core.config.values import Band, BandRule, TriggerMode
from daemon.core.engine.kernel import Engine
from daemon.core.engine.quotes import THRESHOLD_MODES
from daemon.core.model import Holdings
from daemon.core.triggers.drift import DriftTracker
from tests.core.engine_scenario import RUN, T0, feed, fill_all, make_config, ready_events

SYMBOLS = ("VTI", "BND", "GLD", "XYZ")  # XYZ: quoted, not a target
NARROW = Band(absolute=0.02, relative=None, rule=BandRule.ABSOLUTE)


@dataclass(frozen=True, slots=True)
class Q:
    symbol: str
    bid: float
    ask: float


def drift_state(t: DriftTracker) -> tuple[object, ...]:
    """Everything the tracker holds, floats compared exactly."""
    return (
        t._symbols, t._index, t._px, t._qty, t._mv, t._a, t._b, t._value, t._ops,
        t._lmax, t._hmin, t._out, t._cash, t._qty_dec, t.out_of_band(), t.rows(),
    )  # fmt: skip


@st.composite
def streams(draw: st.DrawFn, max_size: int = 40) -> list[tuple[str, float, float]]:
    """(symbol, bid, ask): walks from 100 with small moves, breaching moves, split-sized
    jumps, the same mid again (a size-only quote), and bad quotes (crossed, zero, NaN)."""
    n = draw(st.integers(1, max_size))
    px = dict.fromkeys(SYMBOLS, 100.0)
    out = []
    for _ in range(n):
        sym = draw(st.sampled_from(SYMBOLS))
        pick = draw(st.integers(0, 19))  # a split-sized jump rarely: it holds decisions
        if pick == 0:
            step = draw(st.sampled_from([3.0, 1 / 3]))
        elif pick <= 3:
            step = 1.0
        else:
            step = draw(st.floats(0.7, 1.3) if pick <= 9 else st.floats(0.97, 1.03))
        mid = px[sym] = px[sym] * step
        half = draw(st.sampled_from([0.01, 0.02, 0.0]))
        bid, ask = mid - half, mid + half
        kind = draw(st.sampled_from(["ok", "ok", "ok", "ok", "crossed", "zero", "nan"]))
        if kind == "crossed":
            bid, ask = ask + 0.01, bid
        elif kind == "zero":
            bid = 0.0
        elif kind == "nan":
            ask = float("nan")
        out.append((sym, bid, ask))
    return out


def cut(items: Sequence[object], cuts: set[int]) -> list[tuple[int, int]]:
    """(start, end) of the batches: ``items`` cut before every index in ``cuts``."""
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(items)), len(items)]
    return list(pairwise(bounds))


def tracker() -> DriftTracker:
    config = make_config({"VTI": 0.5, "BND": 0.3, "GLD": 0.18}, band=NARROW)
    holdings = Holdings(Decimal(200), {"VTI": Decimal(50), "BND": Decimal(30), "GLD": Decimal(18)})
    return DriftTracker(config, holdings, {"VTI": 100.0, "BND": 100.0})  # GLD: no price yet


@settings(max_examples=400, deadline=None)
@given(
    streams(60),
    st.sets(st.integers(1, 59)),
    st.lists(st.tuples(st.sampled_from(SYMBOLS), st.integers(-20, 20)), max_size=5),
    st.integers(1, 6),
)
def test_update_quotes_is_update_quote_one_by_one(
    quotes: list[tuple[str, float, float]],
    cuts: set[int],
    fills: list[tuple[str, int]],
    resum_every: int,
) -> None:
    one, many = tracker(), tracker()
    one._resum_every = many._resum_every = resum_every  # the exact re-sum inside batches
    for k, (start, end) in enumerate(cut(quotes, cuts)):
        batch = quotes[start:end]
        flags = [one.update_quote(s, b, a) for s, b, a in batch]
        got = many.update_quotes([Q(s, b, a) for s, b, a in batch])
        event(f"a breach in the batch: {any(flags)}")
        assert got == any(flags)
        assert drift_state(many) == drift_state(one)
        if k < len(fills):  # a fill between batches (quantities and cash change)
            sym, shares = fills[k]
            for t in (one, many):
                t.apply_fill(sym, Decimal(shares), Decimal(-100 * shares))
            assert drift_state(many) == drift_state(one)


def test_update_quotes_of_nothing_changes_nothing() -> None:
    t = tracker()
    before = drift_state(t)
    assert t.update_quotes([]) is False
    assert drift_state(t) == before


# -- the engine ------------------------------------------------------------------------------


class OneByOne(Engine):
    """The reference definition of a batch: its quotes one by one through ``_take``, then
    at most one decision, after the last quote, at the batch's time."""

    def _on_batch(self, e: ev.QuoteBatch) -> list[Command]:
        cmds: list[Command] = []
        breached = False
        for q in e.quotes:
            if self._take(q, cmds):
                breached = True
        if breached and self._run is None and self._config.trigger.mode in THRESHOLD_MODES:
            cmds.extend(self._decide(e.at, force=False))
        return cmds


def engine(kind: type[Engine], mode: TriggerMode) -> Engine:
    targets = {"VTI": 0.5, "BND": 0.3, "GLD": 0.18}
    config = make_config(targets, mode=mode, band=NARROW, burst=100, max_in_flight=100)
    e = kind(config, RUN)  # (no pacing: every order of a round goes out at once)
    prices = dict.fromkeys(targets, 100.0)
    feed(e, ready_events(cash="200", positions={"VTI": "50", "BND": "30", "GLD": "18"},
                         prices=prices))  # fmt: skip
    return e


def events_of(quotes: Sequence[tuple[str, float, float]]) -> list[ev.QuoteUpdated]:
    return [
        ev.QuoteUpdated(T0 + timedelta(milliseconds=k + 1), s, b, a)
        for k, (s, b, a) in enumerate(quotes)
    ]


def settle(cmds: Sequence[Command], k: str) -> list[ev.Event]:
    """Every order placed, filled at its limit (rejected if it has none): the run ends, so
    a later breach decides again."""
    at = T0 + timedelta(milliseconds=100)
    out: list[ev.Event] = []
    for n, c in enumerate(cmds):
        if not isinstance(c, PlaceOrder):
            continue
        if c.qty is None or c.limit_price is None:
            out.append(ev.OrderRejected(at, c.client_order_id, "test: rejected"))
        else:
            out.extend(fill_all(c, at, f"x{k}-{n}"))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    streams(),
    st.sets(st.integers(1, 39)),
    st.sampled_from([TriggerMode.THRESHOLD, TriggerMode.HYBRID, TriggerMode.CALENDAR]),
)
def test_a_batch_gives_the_commands_of_its_quotes_one_by_one(
    quotes: list[tuple[str, float, float]], cuts: set[int], mode: TriggerMode
) -> None:
    fast, ref = engine(Engine, mode), engine(OneByOne, mode)
    qs = events_of(quotes)
    decided = 0
    for k, (start, end) in enumerate(cut(qs, cuts)):
        batch = ev.QuoteBatch(qs[end - 1].at, tuple(qs[start:end]))
        got, want = fast.handle(batch), ref.handle(batch)
        assert got == want
        decided += sum(isinstance(c, RecordDecision) for c in got)
        assert drift_state(fast._drift) == drift_state(ref._drift)
        assert fast.snapshot() == ref.snapshot()
        for r in range(5):  # the follow-up rounds the fills call for, settled too
            got, want = feed(fast, settle(got, f"{k}.{r}")), feed(ref, settle(want, f"{k}.{r}"))
            assert got == want
    event(f"decisions: {min(decided, 3)}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    streams(),
    st.sets(st.integers(1, 39)),
    st.sampled_from([TriggerMode.THRESHOLD, TriggerMode.CALENDAR]),
)
def test_single_quote_batches_and_frames_leave_the_same_drift_at_every_frame_end(
    quotes: list[tuple[str, float, float]], cuts: set[int], mode: TriggerMode
) -> None:
    singles, frames, updates = engine(Engine, mode), engine(Engine, mode), engine(Engine, mode)
    qs = events_of(quotes)
    for start, end in cut(qs, cuts):
        for q in qs[start:end]:
            assert singles.handle(ev.QuoteBatch(q.at, (q,))) == updates.handle(q)
        frames.handle(ev.QuoteBatch(qs[end - 1].at, tuple(qs[start:end])))
        assert drift_state(frames._drift) == drift_state(singles._drift)
        assert frames.quotes() == singles.quotes()
    assert singles.snapshot() == updates.snapshot()
