"""The portfolio as the planner sees it: one row per symbol with its quantity, price, weight,
band and whether it may trade (and if not, why).

Open orders count as already done: ``pending_qty`` (signed shares) is added to the position
and ``reserved_cash`` (cash held by open buys) is taken from cash; the expected proceeds of
pending sells (at the valuation price) count in cash for weights, never as spendable cash.

Values are floats (weights need no more); the one exact figure, the portfolio value in cents,
comes from ``Portfolio.value_cents`` (the float sum when it is clearly away from a half cent,
else the exact ``Decimal`` sum).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from daemon.core.config.values import AssetConfig, Config, NotInTargets
from daemon.core.model import CASH, Holdings, Quote
from daemon.core.planning.arrays import COLUMNS_FROM, seq_sum
from daemon.core.planning.plan import WeightRow
from daemon.core.planning.quote_checks import quote_problem, valuation_price
from daemon.core.planning.records import LazyWeights, weight_row
from daemon.core.planning.rounding import CENT, to_decimal
from daemon.core.planning.tables import AssetInfo, PlanTables, tables_for

ZERO = Decimal(0)
_new_row = tuple.__new__  # a NamedTuple's own __new__ is a Python function
_EPS = 2.3e-16  # a little more than 2**-53


class Row(NamedTuple):
    """One symbol of the portfolio. A plain tuple underneath (a thousand a plan, built in
    C by ``tuple.__new__`` in ``value_portfolio``'s loop: a dataclass's ``__init__`` took
    half of the valuation's time); never changed once built."""

    symbol: str
    asset: AssetConfig | None
    qty: Decimal  # position + pending
    sellable: Decimal  # shares that can be sold now: min(position, position + pending), ≥ 0
    quote: Quote | None
    price: float | None  # valuation price (mid), None when unknown
    value: float  # dollars at ``price`` (0 when unknown)
    target: float
    low: float
    high: float
    liquidate: bool
    problem: str | None  # why it may not trade, None when it may
    counts_in_drift: bool
    sellable_f: float = 0.0  # float(sellable)
    proceeds: Decimal | None = None  # expected proceeds of a pending sell, at the price

    @property
    def whole(self) -> bool:
        return self.asset is not None and not self.asset.fractional

    @property
    def tradable(self) -> bool:
        return self.problem is None


MarketRow = tuple[
    float, float, float, float, float, float, bool, bool, float, float, float, str, float, float
]
"""A row's figures for ``market_rows.Market``: (price or 0, half-spread, σ, ADV (NaN:
none), bid, ask, whole shares, to liquidate, sellable shares, value, target, symbol, band
low, band high). The
valuation's loop builds them as it reads each quote (``Portfolio.market``), so the market is
not a second pass over the rows and their quotes; ``market_row`` is the rule."""


# where each figure stands in a ``MarketRow`` (and in ``RowFigures``)
PRICE = 0
HALF_SPREAD = 1
SIGMA = 2
ADV = 3
BID = 4
ASK = 5
WHOLE = 6
LIQUIDATE = 7
SELLABLE = 8
VALUE = 9
TARGET = 10
SYMBOL = 11
LOW = 12
HIGH = 13
_FIGURES = 14


def market_row(t: PlanTables, r: Row) -> MarketRow:
    """``r``'s ``MarketRow``: the cost model's half-spread, σ and ADV (``costs.half_spread``,
    ``sigma_for``, ``adv_for``: the quote's, else the asset's, else the config's default)."""
    q, a = r.quote, r.asset
    sigma: float | None = None
    adv: float | None = None
    hs = t.default_half_spread
    bid = ask = 0.0
    if q is not None:
        bid, ask = q.bid, q.ask
        if bid > 0 and ask >= bid:
            hs = (ask - bid) / 2.0 / ((bid + ask) / 2.0)
        if q.sigma is not None and q.sigma >= 0:
            sigma = q.sigma
        if q.adv is not None and q.adv > 0:
            adv = q.adv
    if a is not None:
        if sigma is None:
            sigma = a.sigma
        if adv is None and a.adv is not None and a.adv > 0:
            adv = a.adv
    if adv is None:
        adv = t.default_adv
    return (
        r.price if r.price is not None else 0.0, hs, t.default_sigma if sigma is None else sigma,
        math.nan if adv is None else adv, bid, ask, a is not None and not a.fractional,
        r.liquidate, r.sellable_f, r.value, r.target, r.symbol, r.low, r.high,
    )  # fmt: skip


class RowFigures:
    """The rows' ``MarketRow``s transposed: ``figures[k]`` is figure ``k`` of every row (a
    tuple, index-aligned with the rows), ``array(k)`` the same as a numpy array, made once
    and shared by every pass that reads it (callers never write into it)."""

    __slots__ = ("_arrays", "_cols")

    def __init__(self, rows: Sequence[MarketRow]) -> None:
        self._cols: tuple[tuple[Any, ...], ...] = (
            tuple(zip(*rows, strict=True)) if rows else ((),) * _FIGURES
        )
        self._arrays: dict[int, NDArray[Any]] = {}

    def __getitem__(self, k: int) -> tuple[Any, ...]:
        return self._cols[k]

    def array(self, k: int, dtype: type = np.float64) -> NDArray[Any]:
        """Figure ``k`` as an array of ``dtype`` (one dtype per figure)."""
        a = self._arrays.get(k)
        if a is None:
            a = self._arrays[k] = np.array(self._cols[k], dtype=dtype)
        return a


@dataclass(slots=True)
class Portfolio:
    rows: list[Row]
    cash: Decimal  # cash − reserved_cash (spendable before the cash floor)
    weight_cash: float  # cash for weights: cash − reserved + expected pending-sell proceeds
    weight_cash_dec: Decimal  # the same, exact
    value: float
    notes: list[str]  # e.g. "value uncertain: no price for XYZ"
    magnitude: float = 0.0  # |weight cash| + Σ |row value|: bounds the float sum's error
    market: list[MarketRow] | None = None  # per row, when valued ``for_market``
    all_tradable: bool = False  # every row may trade and has a price (none skipped)
    _columns: RowFigures | None = None

    def columns(self) -> RowFigures | None:
        """``market`` transposed (``RowFigures``), made once; None when the rows were not
        valued ``for_market``."""
        cols = self._columns
        if cols is None and self.market is not None:
            cols = self._columns = RowFigures(self.market)
        return cols

    @property
    def value_dec(self) -> Decimal:
        """The value in Decimal: cash + Σ qty × price (+ pending-sell proceeds), row order."""
        total = self.cash
        for r in self.rows:
            if r.price is not None:
                total += r.qty * to_decimal(r.price)
                if r.proceeds is not None:
                    total += r.proceeds
        return total

    def value_cents(self) -> Decimal:
        """``value_dec.quantize(CENT)`` (half-even), from the float value when its error
        bound keeps it clear of a half cent."""
        x = self.value * 100.0
        bound = (len(self.rows) + 8) * _EPS * self.magnitude * 100.0 + abs(x) * _EPS + 1e-9
        if abs(x) < 2.0**50:
            lo, hi = math.floor(x - bound + 0.5), math.floor(x + bound + 0.5)
            if lo == hi and lo != 0:
                return Decimal(lo).scaleb(-2)
        return self.value_dec.quantize(CENT)

    def weights(self, config: Config) -> Mapping[str, WeightRow]:
        """``Plan.weights``: every row's and cash's ``WeightRow``, built on first read
        (``records.LazyWeights``, ``weight_rows``)."""
        t = tables_for(config)
        cash = (config.portfolio.cash_target, t.cash_low, t.cash_high)
        return LazyWeights(weight_rows, self.rows, self.value, self.weight_cash, cash)

    def current(self) -> dict[str, float]:
        """Each row's current weight and cash's: ``weight_rows``' ``current`` figures (the
        same divisions, in numpy), by symbol."""
        v = self.value
        rows = self.rows
        symbols = [r.symbol for r in rows]
        if v > 0:
            out = dict(zip(symbols, (np.array([r.value for r in rows], dtype=np.float64) / v).tolist(), strict=True))
        else:
            out = dict.fromkeys(symbols, 0.0)
        out[CASH] = self.weight_cash / v if v > 0 else 0.0
        return out

    def drift(self, config: Config) -> float:
        v = self.value
        if v <= 0:
            return 0.0
        total = abs(self.weight_cash / v - config.portfolio.cash_target)
        cols = self.columns()
        if cols is not None and self.all_tradable and len(self.rows) >= COLUMNS_FROM:
            # every row counts in drift (a target asset, or a holding to liquidate): the loop
            # below in numpy, summed one by one
            terms = np.abs(cols.array(VALUE) / v - cols.array(TARGET))
            return seq_sum(np.concatenate(((total,), terms))) / 2.0
        for r in self.rows:
            if r.counts_in_drift:
                total += abs(r.value / v - r.target)
        return total / 2.0


def weight_rows(
    rows: list[Row], v: float, weight_cash: float, cash: tuple[float, float, float]
) -> dict[str, WeightRow]:
    """Every row's ``WeightRow`` (its weight of the value ``v``, target and band), then
    cash's (``cash``: target, low, high)."""
    new = weight_row
    if v > 0:
        out = {r.symbol: new(r.value / v, r.target, r.low, r.high) for r in rows}
    else:
        out = {r.symbol: new(0.0, r.target, r.low, r.high) for r in rows}
    cw = weight_cash / v if v > 0 else 0.0
    out[CASH] = new(cw, *cash)
    return out


def _fresh_from(now: datetime, max_age: float) -> datetime | None:
    """Quotes stamped at or after this are surely no older than ``max_age`` seconds (a
    microsecond inside the limit, so rounding can never call a stale quote fresh)."""
    try:
        return now - timedelta(seconds=max_age) + timedelta(microseconds=1)
    except (OverflowError, ValueError):
        return None


def value_portfolio(
    config: Config,
    holdings: Holdings,
    quotes: Mapping[str, Quote],
    now: datetime,
    *,
    reserved_cash: Decimal = ZERO,
    pending_qty: Mapping[str, Decimal] | None = None,
    halted: Collection[str] | Mapping[str, str] = (),
    for_market: bool = False,
) -> Portfolio:
    """Value every symbol (targets in config order, then other holdings by name).
    ``halted``: symbols not to trade now, or a mapping symbol → why (shown in the plan).
    ``for_market``: also each row's ``MarketRow`` (``Portfolio.market``), for a plan."""
    pf = config.portfolio
    pending = pending_qty or {}
    positions = holdings.positions
    tables = tables_for(config)
    infos = tables.assets
    extra = sorted(
        {s for s, q in positions.items() if s not in infos and q != 0}
        | {s for s, q in pending.items() if s not in infos and q != 0}
    )
    why_not = dict(halted) if isinstance(halted, Mapping) else dict.fromkeys(halted, HALTED)
    ctx = _Context(config, pending, why_not, now)
    fresh_from, max_age = ctx.fresh_from, ctx.max_age
    special = pf.excluded | ctx.halted.keys() | pending.keys()
    rows: list[Row] = []
    notes: list[str] = []
    cash = holdings.cash - reserved_cash
    weight_cash_dec = cash
    magnitude = 0.0
    market: list[MarketRow] | None = [] if for_market else None
    untradable = 0  # rows with a problem or no price
    values_sum = 0.0  # Σ row values, one by one in row order from 0.0 (``arrays.seq_add``)
    default_hs, default_sigma = tables.default_half_spread, tables.default_sigma
    default_adv = math.nan if tables.default_adv is None else tables.default_adv
    for sym, info in infos.items():
        quote = quotes.get(sym)
        if quote is None or sym in special:
            row = _row(ctx, sym, info, positions.get(sym, ZERO), quote, notes)
            magnitude += abs(row.value)
            values_sum += row.value
            if row.proceeds is not None:
                weight_cash_dec += row.proceeds
            rows.append(row)
            if row.problem is not None or row.price is None:
                untradable += 1
            if market is not None:
                market.append(market_row(tables, row))
            continue
        # the common case, inlined: a target asset with a quote, nothing pending
        pos = positions.get(sym, ZERO)
        qty = pos + ZERO
        bid, ask = quote.bid, quote.ask
        problem: str | None = None
        spread = info.max_spread
        hs = default_hs
        if 0.0 < bid <= ask:
            mid = (bid + ask) / 2.0
            price: float | None = mid
            hs = (ask - bid) / 2.0 / mid  # market_row's half-spread: the same operations
            try:
                fresh = fresh_from is not None and quote.at >= fresh_from
            except TypeError:  # naive vs aware: quote_problem reports it as it always has
                fresh = False
            if not fresh or ask - bid > spread * (bid + ask) / 2.0:
                problem = quote_problem(quote, now, max_age, spread)
        else:
            problem = quote_problem(quote, now, max_age, spread)
            price = valuation_price(quote)
        # float(Decimal) formats and parses a string (~0.2 µs); the engine's positions are
        # the same Decimal objects plan after plan (their hash cached), so a lookup is quicker.
        # Keyed on ``pos`` (``qty`` is a new object each plan): the same number unless zero,
        # and zeros are not kept
        qty_f = _floats.get(pos)
        if qty_f is None:
            qty_f = _float_of(qty)
        value = 0.0
        if price is None:
            if qty != 0:
                notes.append(f"value uncertain: no price for {sym} ({qty} shares counted as $0)")
        else:
            value = qty_f * price
            magnitude += abs(value)
        values_sum += value
        if problem is not None or price is None:
            untradable += 1
        held = pos > ZERO
        liquidate = info.target <= 0.0  # a zero target is sold
        sellable_f = qty_f if held else 0.0
        if market is not None:  # market_row, inlined (the asset is known, its rules in info)
            q_sigma, q_adv = quote.sigma, quote.adv
            sigma = q_sigma if q_sigma is not None and q_sigma >= 0 else info.sigma
            adv = q_adv if q_adv is not None and q_adv > 0 else info.adv
            market.append((
                0.0 if price is None else price, hs,
                default_sigma if sigma is None else sigma, default_adv if adv is None else adv,
                bid, ask, info.whole, liquidate, sellable_f, value, info.target, sym, info.low,
                info.high,
            ))  # fmt: skip
        rows.append(
            _new_row(
                Row,
                (
                    sym,
                    info.asset,
                    qty,
                    pos if held else ZERO,  # max(0, min(pos, qty)) with qty == pos
                    quote,
                    price,
                    value,
                    info.target,
                    info.low,
                    info.high,
                    liquidate,
                    problem,
                    True,
                    sellable_f,
                    None,
                ),
            )
        )
    for sym in extra:
        row = _row(ctx, sym, None, positions.get(sym, ZERO), quotes.get(sym), notes)
        magnitude += abs(row.value)
        values_sum += row.value
        if row.proceeds is not None:
            weight_cash_dec += row.proceeds
        rows.append(row)
        if row.problem is not None or row.price is None:
            untradable += 1
        if market is not None:
            market.append(market_row(tables, row))
    weight_cash = float(weight_cash_dec)
    value_total = weight_cash + values_sum  # seq_add of the rows' values: the same additions
    magnitude += abs(weight_cash)
    return Portfolio(
        rows, cash, weight_cash, weight_cash_dec, value_total, notes, magnitude, market,
        untradable == 0,
    )  # fmt: skip


HALTED = "halted by the venue"

_floats: dict[Decimal, float] = {}  # Decimal → float(Decimal), for nonzero quantities
_FLOATS_KEPT = 50_000  # entries before the memo starts over


def _float_of(x: Decimal) -> float:
    """``float(x)``, remembered in ``_floats`` unless ``x`` is a zero (``Decimal("-0")`` equals
    ``Decimal("0")`` but their floats differ in sign) or not finite."""
    f = float(x)
    if f != 0.0 and math.isfinite(f):
        if len(_floats) >= _FLOATS_KEPT:
            _floats.clear()
        _floats[x] = f
    return f


class _Context:
    """What every row's valuation reads besides its own symbol."""

    __slots__ = ("config", "fresh_from", "halted", "max_age", "now", "pending")

    def __init__(
        self,
        config: Config,
        pending: Mapping[str, Decimal],
        halted: Mapping[str, str],
        now: datetime,
    ) -> None:
        self.config, self.pending, self.halted, self.now = config, pending, halted, now
        self.max_age = config.planner.max_quote_age_seconds
        self.fresh_from = _fresh_from(now, self.max_age)


def _row(
    ctx: _Context,
    sym: str,
    info: AssetInfo | None,
    pos: Decimal,
    quote: Quote | None,
    notes: list[str],
) -> Row:
    """One row, every rule spelled out (pending orders, excluded, halted, held but not in
    targets, missing or bad quotes)."""
    pf = ctx.config.portfolio
    pend = ctx.pending.get(sym, ZERO)
    qty = pos + pend
    sellable = max(ZERO, min(pos, qty))
    if info is not None:
        asset: AssetConfig | None = info.asset
        target, low, high = info.target, info.low, info.high
        liquidate, counts = target <= 0.0, True  # a zero target is sold
    else:
        asset = None
        liquidate = pf.not_in_targets is NotInTargets.LIQUIDATE and sym not in pf.excluded
        target, low, high, counts = 0.0, 0.0, (0.0 if liquidate else 1.0), liquidate
    problem: str | None
    if sym in pf.excluded:
        problem = "excluded by config (counted in value, never traded)"
    elif asset is None and not liquidate:
        problem = "not in targets (held, not traded)"
    elif sym in ctx.halted:
        problem = ctx.halted[sym]
    else:
        spread = info.max_spread if info is not None else ctx.config.planner.max_spread
        problem = quote_problem(quote, ctx.now, ctx.max_age, spread)
    price = valuation_price(quote)
    value = 0.0
    proceeds: Decimal | None = None
    qty_f = float(qty)
    if price is None:
        if qty != 0:
            notes.append(f"value uncertain: no price for {sym} ({qty} shares counted as $0)")
    else:
        value = qty_f * price
        if pend < 0:
            proceeds = min(-pend, max(pos, ZERO)) * to_decimal(price)
    sellable_f = qty_f if sellable is pos and pend == 0 else float(sellable)
    return Row(
        sym,
        asset,
        qty,
        sellable,
        quote,
        price,
        value,
        target,
        low,
        high,
        liquidate,
        problem,
        counts,
        sellable_f,
        proceeds,
    )
