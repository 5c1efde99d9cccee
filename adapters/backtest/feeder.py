"""The backtest feeder: price rows in, core events to a fresh ``Engine``, its commands carried
out by the fill model. No decision is made here; the engine decides, as live.

Per row, all at the row's moment ``T`` (``market.row_moment``):

1. the first row only: an ``AccountSnapshot`` holding ``initial_value`` in cash;
2. one ``QuoteBatch`` of the row's quotes (a ``QuoteUpdated`` per symbol) and one
   ``MarketStatsBatch`` of its statistics (per symbol: σ, and ADV when there is volume).
   The last clock said the market closed at the previous row's close, so the engine
   decides nothing on a half-updated set of quotes (as overnight live);
   on a model's schedule row, its ``TargetsChanged`` (``targets_at``: estimated from the
   rows before, ``adapters.models.schedule.walk_forward``), so drift is measured against
   the new targets and the bands decide;
3. the row's cash flows and dividends (``SYMBOL:dividend`` per share on its ex-date row, on
   the shares held at the previous row's close, credited to the cent): the ledger's cash
   changes and the engine gets an ``AccountSnapshot`` (the broker's truth), open orders
   included, so the cash is reinvested by the rules, as live;
4. ``MarketClock``: open, with the sessions around the row (the series' own dates);
5. the first row only: ``RebalanceRequested(force=True)``, the operator's "invest now"
   (the engine plans the initial allocation through its own planner and costs);
6. what the participation cap left of open orders tries to fill at this row's quotes;
7. every wakeup the engine asked for at or before ``T`` fires as ``TimerFired(T, key)``
   (the engine's check, throttle and order timeouts); wakeups after ``T`` wait for the next
   row: a row is one moment of the market.

Commands: ``PlaceOrder`` → ``OrderAccepted`` and an ``OrderFilled`` when the fill model
fills it; ``CancelOrder`` → ``OrderCanceled``; ``ScheduleWakeup`` → a timer;
``RequestReconcile`` → an ``AccountSnapshot``; ``LookupOrder`` → the order's state;
``RecordDecision`` and ``Alert`` are recorded. Commissions (which a fill event does not
carry) reach the engine as an ``AccountSnapshot`` after the row.

A row on which the engine provably cannot act (``quiet_rows``: at rest, nothing open, no
calendar day, flow, dividend, wakeup or band edge) is recorded without being handed over;
``every_row=True`` hands over every row (the tests compare both).
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from adapters.backtest import market, quiet_rows
from adapters.backtest.fill_model import FillModel, Ledger, OpenOrder, Quote
from adapters.backtest.prices import PriceSeries
from adapters.backtest.records import BacktestRun, RowRecord, flows_by_row, target_arrays
from daemon.core import events as ev
from daemon.core.commands import (
    Alert,
    CancelOrder,
    Command,
    LookupOrder,
    PlaceOrder,
    RecordDecision,
    RequestReconcile,
    ScheduleWakeup,
)
from daemon.core.config.values import Config
from daemon.core.engine.holds import NEVER_MET
from daemon.core.engine.kernel import Engine
from daemon.core.engine.quotes import THRESHOLD_MODES

SESSIONS_AROUND = 5  # rows of calendar handed to the engine on each side of a row
FOLLOW_UP = "follow-up round"  # how the engine's plan names a run's later rounds
MAX_STEPS_PER_ROW = 100_000
CENT = Decimal("0.01")  # a guard against a wakeup loop


class Feeder:
    """Drive one ``Engine`` through ``series``; see the module docstring."""

    def __init__(
        self,
        config: Config,
        series: PriceSeries,
        initial_value: Decimal,
        *,
        cash_flows: Sequence[tuple[date, Decimal]] = (),
        spread_bps: float | None = None,
        run_id: str = "backtest",
        record: bool = False,
        history: PriceSeries | None = None,
        targets_at: Mapping[int, ev.TargetsChanged] | None = None,
        every_row: bool = False,
    ) -> None:
        """``every_row``: hand every row to the engine, quiet or not (the tests compare
        both paths; ``quiet_rows`` says which rows are skipped otherwise)."""
        if len(series.dates) < 1:
            raise ValueError("the price series has no rows in the chosen window")
        # the rows are split-adjusted total-return closes: a one-row move is never a split,
        # and no account or broker record would ever clear a suspected one (a crash day of
        # x0.7 froze a 23-year run at its third month)
        config = replace(config, planner=replace(config.planner, split_suspect_ratio=0.0))
        self.config = config
        self.series = series
        # a tax-deferred account's lots are read by nothing (no tax policy, no harvest, no
        # tax figures: adapters.backtest.taxes), so the engine does not keep them
        self.engine = Engine(config, run_id, follow_lots=config.tax.taxable)
        self.fills = FillModel(config)
        self.ledger = Ledger(initial_value)
        self.record = record
        self.events: list[ev.Event] = []
        self.commands: list[Command] = []
        self._queue: deque[ev.Event] = deque()
        self._timers: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []  # (at, key), stale entries included
        self._column = {sym: j for j, sym in enumerate(series.symbols)}
        self._open: dict[str, OpenOrder] = {}
        self._now: datetime | None = None
        self._row = 0
        self._exec = 0
        self._room: dict[str, Decimal | None] = {}
        self._row_quotes: dict[int, tuple[int, Quote]] = {}  # column → (row, its quote)
        self._qty = np.zeros(len(series.symbols))  # positions as floats, for the records
        self._wbuf = np.zeros(len(series.symbols) + 1)
        self._row_commission = False
        self._rebalances = 0
        self._rebalance_rows: list[int] = []
        self._decisions = 0
        self._trades = 0
        self._orders = 0
        self._traded = 0.0
        self._alerts: list[str] = []
        spread = 2.0 * config.cost.default_half_spread_bps if spread_bps is None else spread_bps
        self._h = market.half_spreads(series, spread)
        # σ and ADV from the rows before each row: with ``history`` (the whole file, of
        # which ``series`` is a window) the first rows of the window have estimates too
        base = history if history is not None and series.dates else series
        k = base.dates.index(series.dates[0]) if base is not series else 0
        if base.dates[k : k + len(series.dates)] != series.dates:
            raise ValueError("history must hold the series' rows, contiguous")
        m = len(series.dates)
        self._sigma = market.sigmas(base, config.cost.default_sigma)[k : k + m]
        self._adv = [None if a is None else a[k : k + m] for a in market.advs(base)]
        self._first_stats = k  # rows of history before the window
        self._sessions = market.sessions(config, series.dates)
        self._flows, self.ignored_flows = flows_by_row(series.dates, cash_flows)
        self._targets_at = dict(targets_at or {})
        divs = [
            (j, d) for j in range(len(series.symbols)) if (d := series.dividend_of(j)) is not None
        ]
        self._div_cols = divs
        self._div_rows = (
            np.any(np.stack([d > 0 for _, d in divs]), axis=0) if divs else None
        )  # rows with any dividend
        self._div_matrix: np.ndarray | None = None  # rows × symbols, per share (0: none)
        if divs:
            self._div_matrix = np.zeros(series.closes.shape)
            for j, d in divs:
                self._div_matrix[:, j] = d
        self._moments = market.row_moments(config, series.dates)
        self._fast = quiet_rows.fast_path_holds(config, self._moments, bool(self._targets_at))
        self._fed = 0
        self._every_row = every_row  # (also set once a minimum is reported never met)
        self._wake = quiet_rows.wake_rows(config, self._sessions, [0, *self._flows])
        self._rec: RowRecord
        self._bands: quiet_rows.Bands
        self._seen: Config

    def _dividends(self, i: int) -> Decimal | None:
        """The cash the row's dividends pay on the shares held (None: nothing held pays)."""
        total = Decimal(0)
        paid = False
        for j, col in self._div_cols:
            per_share = float(col[i])
            qty = self.ledger.positions.get(self.series.symbols[j], Decimal(0))
            if per_share > 0 and qty > 0:
                total += qty * Decimal(repr(per_share))
                paid = True
        return total.quantize(CENT, rounding=ROUND_HALF_UP) if paid else None

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> BacktestRun:
        s = self.series
        n_rows, n = s.closes.shape
        rec = RowRecord.zeros(n_rows, n, dividends=self._div_rows is not None)
        self._rec = rec
        self._bands = quiet_rows.Bands(*target_arrays(self.config, s.symbols))
        self._seen = self.engine.config  # the targets drift is measured against (a harvest swaps)
        moments = self._moments
        fast = self._fast
        wake = self._wake
        i = 0
        while i < n_rows:
            self._one_row(i, moments)
            i += 1
            if fast and not self._every_row and i < n_rows and not self._open and self.engine.at_rest:
                nxt = wake[bisect.bisect_left(wake, i)] if wake and wake[-1] >= i else n_rows
                nxt = min(nxt, quiet_rows.timer_row(self._timers, moments, self.engine.book))
                i = self._skip_quiet(i, nxt)
        return BacktestRun(
            s,
            rec,
            self.fills.costs,
            self._rebalances,
            self._decisions,
            self._trades,
            self._orders,
            self._alerts,
            self.ignored_flows,
            self.events,
            self.commands,
            self.ledger.cash,
            dict(self.ledger.positions),
            list(self._rebalance_rows),
            self.engine.lots.ledger.disposals,
            self.config.tax,
            self.engine.lots.ledger.lots(),
            self._fed,
        )

    def _one_row(self, i: int, moments: list[datetime]) -> None:
        """Hand row ``i`` to the engine (the module docstring's steps) and record it."""
        s = self.series
        syms = s.symbols
        rec = self._rec
        self._row = i
        self._fed += 1
        t = moments[i]
        self._now = t
        self._traded = 0.0
        self._row_commission = False
        closes = s.closes[i]
        if i == 0:
            self._put(ev.AccountSnapshot(t, self.ledger.cash, {}))
        half = self._h[i]
        row = tuple(
            ev.QuoteUpdated(t, sym, c * (1.0 - h), c * (1.0 + h))
            for sym, c, h in zip(syms, closes.tolist(), half.tolist(), strict=True)
        )
        self._put(ev.QuoteBatch(t, row))  # the row is one frame: drift per quote, one decision
        self._put(ev.MarketStatsBatch(t, self._stats(i)))  # one event per row
        change = self._targets_at.get(i)
        if change is not None:
            self._put(replace(change, at=t))
            self._drain()
            self._bands = quiet_rows.Bands(*target_arrays(self.engine.config, syms))
        flow = self._flows.get(i)
        paid = self._dividends(i) if self._div_rows is not None and self._div_rows[i] else None
        if paid is not None:
            self.ledger.cash += paid
            rec.dividends[i] = float(paid)  # type: ignore[index]
        if flow is not None:
            self.ledger.cash += flow
            rec.flows[i] = float(flow)
        if flow is not None or paid is not None:
            self._put(self._snapshot(t))
        self._drain()
        if self.engine.config is not self._seen:
            self._seen = self.engine.config
            self._bands = quiet_rows.Bands(*target_arrays(self._seen, syms))
        bands = self._bands
        w = self._weights(closes)
        rec.value_before[i] = w[1]
        weights = w[0]
        rec.max_drift[i] = float(np.max(np.abs(weights - bands.target)))
        rec.outside[i] = bool(
            np.any((weights < bands.low - 1e-12) | (weights > bands.high + 1e-12))
        )
        self._put(self._clock(i, t, moments))
        if i == 0:
            self._put(ev.RebalanceRequested(t, force=True))
        self._room = {}  # filled in per symbol as orders trade
        for coid in sorted(self._open):
            self._try_fill(coid)
        self._drain()
        self._fire_timers(t)
        if self._row_commission:
            self._put(self._snapshot(t))
            self._drain()
        w = self._weights(closes)
        rec.value_after[i] = w[1]
        rec.weights_after[i] = w[0]
        rec.traded[i] = self._traded

    def _skip_quiet(self, i: int, stop: int) -> int:
        """Record the quiet rows from ``i`` (at most to ``stop``) without handing them to
        the engine; returns the next row to hand over (``quiet_rows.record_quiet``)."""
        qty = self._qty
        held = qty > 0
        divs = self._div_matrix
        return quiet_rows.record_quiet(
            self._rec, self.series.closes, i, stop, qty, float(self.ledger.cash), self._bands,
            watch_bands=self.engine.config.trigger.mode in THRESHOLD_MODES,
            dividends=divs[:, held] if divs is not None and held.any() else None,
        )  # fmt: skip

    def _stats(self, i: int) -> tuple[tuple[str, float | None, float | None], ...]:
        """The row's (symbol, ADV, σ) per symbol (no ADV on the first row of history)."""
        first = i + self._first_stats == 0
        advs = [None if a is None or first else float(a[i]) for a in self._adv]
        return tuple(zip(self.series.symbols, advs, self._sigma[i].tolist(), strict=True))

    def _weights(self, closes: np.ndarray) -> tuple[np.ndarray, float]:
        buf = self._wbuf  # positions' values, then cash (no new array per call)
        n = len(closes)
        values = np.multiply(self._qty, closes, out=buf[:n])
        cash = float(self.ledger.cash)
        total = float(values.sum()) + cash
        buf[n] = cash
        return (buf / total if total > 0 else np.zeros(n + 1)), total

    def _clock(self, i: int, t: datetime, moments: list[datetime]) -> ev.MarketClock:
        sess = self._sessions
        today = sess[i]
        nxt = sess[i + 1].open if i + 1 < len(sess) else today.open + timedelta(days=1)
        lo, hi = max(0, i - SESSIONS_AROUND), min(len(sess), i + SESSIONS_AROUND + 1)
        return ev.MarketClock(t, True, nxt, today.close, sess[lo:hi])

    def _quote(self, i: int, j: int) -> Quote:
        got = self._row_quotes.get(j)
        if got is not None and got[0] == i:
            return got[1]
        q = self._make_quote(i, j)
        self._row_quotes[j] = (i, q)
        return q

    def _make_quote(self, i: int, j: int) -> Quote:
        c = float(self.series.closes[i, j])
        h = float(self._h[i, j])
        adv_col = self._adv[j]
        adv = None if adv_col is None or i + self._first_stats == 0 else float(adv_col[i])
        vol_col = self.series.volume[j]
        return Quote(
            c,
            c * (1.0 - h),
            c * (1.0 + h),
            float(self._sigma[i, j]),
            adv,
            None if vol_col is None else float(vol_col[i]),
        )

    def _fire_timers(self, t: datetime) -> None:
        """Fire every wakeup due at ``t``, earliest (then by key) first, as the engine asked.
        ``_timers`` holds each key's current time; ``_heap`` every (time, key) scheduled,
        an entry whose time is no longer its key's being stale (skipped)."""
        steps = 0
        timers, heap = self._timers, self._heap
        book = self.engine.book
        while True:
            while heap and timers.get(heap[0][1]) != heap[0][0]:
                heapq.heappop(heap)  # rescheduled or fired since
            if not heap or heap[0][0] > t:
                return
            _, key = heapq.heappop(heap)
            del timers[key]
            if quiet_rows.ignored(key, book):
                continue  # the engine would answer it with nothing
            self._put(ev.TimerFired(t, key))
            self._drain()
            steps += 1
            if steps > MAX_STEPS_PER_ROW:  # pragma: no cover - an engine bug
                raise RuntimeError(f"wakeups keep firing at {t.isoformat()}: {key}")

    # -- events and commands ----------------------------------------------------------------

    def _put(self, e: ev.Event) -> None:
        self._queue.append(e)

    def _drain(self) -> None:
        q = self._queue
        handle = self.engine.handle
        while q:
            e = q.popleft()
            cmds = handle(e)
            if self.record:
                self.events.append(e)
                self.commands.extend(cmds)
            for c in cmds:
                self._dispatch(c)

    def _dispatch(self, c: Command) -> None:
        if isinstance(c, ScheduleWakeup):  # the most frequent command first
            self._timers[c.key] = c.at
            heapq.heappush(self._heap, (c.at, c.key))
            return
        t = self._now
        assert t is not None
        if isinstance(c, PlaceOrder):
            self._orders += 1
            bid = f"bt-{self._orders}"
            o = self._open[c.client_order_id] = OpenOrder(c, bid)
            self._put(ev.OrderAccepted(t, c.client_order_id, bid))
            self._try_fill(c.client_order_id, o)
        elif isinstance(c, CancelOrder):
            if self._open.pop(c.client_order_id, None) is not None:
                self._put(ev.OrderCanceled(t, c.client_order_id, "canceled"))
        elif isinstance(c, RecordDecision):
            self._decisions += 1
            if any(NEVER_MET in r for r in c.plan.reasons):
                self._every_row = True  # the engine's quiet memory clears on any check
            if c.plan.orders:
                reasons = c.plan.reasons
                if not (reasons and reasons[0].startswith(FOLLOW_UP)):
                    self._rebalances += 1
                    self._rebalance_rows.append(self._row)
        elif isinstance(c, RequestReconcile):
            self._put(self._snapshot(t))
        elif isinstance(c, LookupOrder):
            found = self._open.get(c.client_order_id)
            if found is None:
                self._put(ev.OrderNotFound(t, c.client_order_id))
            else:
                self._put(ev.OrderAccepted(t, c.client_order_id, found.broker_id))
        elif isinstance(c, Alert):
            if c.severity != "info":
                self._alerts.append(f"{t.date().isoformat()}: {c.message}")
        # TradingStateChanged, Halt: nothing to carry out in a backtest

    def _try_fill(self, coid: str, o: OpenOrder | None = None) -> None:
        if o is None:
            o = self._open[coid]
        sym = o.order.symbol
        j = self._column.get(sym, -1)
        if j < 0:
            return
        quote = self._quote(self._row, j)
        if sym in self._room:
            room = self._room[sym]
        else:
            room = self._room[sym] = self.fills.capacity(quote)
        f = self.fills.fill(o, quote, room)
        if f is None:
            return
        if room is not None:
            self._room[sym] = room - f.qty
        self.ledger.apply(sym, o.order.side, f)
        self._qty[j] = float(self.ledger.positions[sym])
        self._trades += 1
        self._traded += float(f.notional)
        if f.commission:
            self._row_commission = True
        self._exec += 1
        t = self._now
        assert t is not None
        self._put(
            ev.OrderFilled(t, coid, f"bt-x{self._exec}", f.qty, f.price, o.filled, o.broker_id)
        )
        rem = o.remaining
        if rem is None or rem <= 0:
            del self._open[coid]

    def _snapshot(self, t: datetime) -> ev.AccountSnapshot:
        led = self.ledger
        return ev.AccountSnapshot(
            t,
            led.cash,
            {s: q for s, q in led.positions.items() if q != 0},
            tuple(o.broker_view() for _, o in sorted(self._open.items())),
        )


__all__ = ["BacktestRun", "Feeder", "RowRecord"]
