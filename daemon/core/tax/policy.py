"""Tax-aware planning for a taxable account (``[tax] account = "taxable"``): which sells the
plan may make, and what they cost in tax. A tax-deferred account gets no policy (``None``)
and plans exactly as before.

On Alpaca every sale relieves lots FIFO (its 1099-B), so the planner cannot pick lots; it
can pick *how much of which symbol* to sell, and *when*. :meth:`TaxPolicy.cap_sells` cuts
the planner's sell drafts (before funding, so the buys are funded by what is really sold),
walking each sale's lots in relief order (``preview_sale``: wash sales with earlier buys
included):

1. shares that realise a **loss** or a **long-term gain** are sold as planned;
2. at the first share that realises a **short-term gain** (a lot of unknown date counts as
   short-term: import the lots for real dates):
   - ``never_realize_short_term_gains``: the sale stops before it;
   - the lot turns long-term within ``wait_for_long_term_days``: the sale stops before it
     and the plan says how many days it waits;
   - otherwise short-term-gain shares are sold only as far as the band needs: to halfway
     between the target and the band's upper edge (at least what rules 1–2 allow);
3. the **annual gain budget** (``annual_gain_budget``): the net gains realised this year
   (the ledger's disposals) plus the plan's must stay within it. Sales are admitted in
   order of their tax per dollar sold (losses first, which make room, then long-term
   gains, then short-term gains); the first one that does not fit is cut to the lots that
   do, the rest are left out.

A cut sale is reported in the plan's notes (a sale left out entirely: ``skipped``).

:meth:`TaxPolicy.gate_cost` is the tax the plan's sells would cost (short-term gains ×
``st_rate`` + long-term × ``lt_rate``; losses offset gains): the cost gate compares the
benefit with trading costs **plus** this (a net saving counts as 0: losses are no reason to
trade; harvesting is its own decision).

**The drift bound** (``max_drift_band_multiple``, default 2): when any asset is outside
that multiple of its band (the band already widened by ``band_multiplier``), measured from
its target on the side it drifted to, the gate leaves the tax out and judges the run on
its trading costs alone (:func:`drift_bound`). Without it a winner's long-term gain grows
until its tax beats any benefit and the asset is never sold again (on the shipped data
AAPL reached 49 pp over its 9.8 % target). Why the whole run and not only "the trades back
to the band edge": the gate is one yes/no per run (a run is judged once, its later rounds
are not), and the sells it judges are already the tax-aware ones, so splitting the tax
between "needed" and "not needed" trades would add a second sizing of the same run for no
better answer; the benefit of a run that far out dwarfs its trading costs anyway. The bound
is a *gate* rule only: ``cap_sells`` runs first and is not overridden, so
``never_realize_short_term_gains`` still never sells a short-term gain, the wait for
long-term still waits, and the annual gain budget still caps the gains (a user who said
"never" or "at most $X" meant it; the drift may then stay outside the bound, and the plan's
notes say why).

:meth:`TaxPolicy.block_buys` is the wash-sale guard on the plan's buys: no buy of a
wash-sale group within 30 days after a loss sale of it (the loss would be disallowed).

**Lots that cannot be trusted** (``untrusted``, the reason: ``LiveLots.untrusted``, e.g.
the ledger stopped following the account after a sale it could not relieve): the cuts and
the gate's tax would be computed from lots that may not exist, so the plan is made as a
tax-deferred account's would be (no cuts, no tax in the gate) and its notes say why, naming
the fix (import the lots). Refusing every sell instead would leave the portfolio drifting
for as long as nobody imports the lots, on a guess that the sells cost tax; the one
exception is ``never_realize_short_term_gains``, a rule the user meant absolutely: any sell
may then realise a short-term gain, so none is made. The wash-sale guard on buys stays
(the losses it knows were realised; blocking a buy realises nothing).

Pure; reads the ledger (previews run on copies), never changes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal

from daemon.core.config.tax import TaxConfig
from daemon.core.config.values import Band, Config
from daemon.core.planning.plan import SkippedSymbol
from daemon.core.planning.rounding import qty_decimal, qty_ticks, round_qty
from daemon.core.planning.sizing import Draft, Emitted, money
from daemon.core.planning.valuation import Row
from daemon.core.tax.estimate import buy_washes_until, estimate_tax, preview_sale
from daemon.core.tax.ledger import LotLedger
from daemon.core.tax.live_lots import trade_day
from daemon.core.tax.lots import ZERO, Disposal, Term, first_long_term_day

__all__ = ["TaxPolicy", "drift_bound", "tax_policy", "widen_bands", "ytd_gain"]


def tax_policy(
    config: Config, ledger: LotLedger, now: datetime, untrusted: str | None = None
) -> TaxPolicy | None:
    """The policy for a plan at ``now``; ``None`` for a tax-deferred account.
    ``untrusted``: why the lots cannot be trusted (None: they can)."""
    if not config.tax.taxable:
        return None
    return TaxPolicy(config.tax, ledger, trade_day(now), untrusted)


def widen_bands(config: Config) -> Config:
    """A taxable account's bands × ``band_multiplier`` (``[bands]`` and every asset's; the
    cash band stays). Any other config is returned as it is."""
    m = config.tax.band_multiplier
    if not config.tax.taxable or m == 1.0:
        return config

    def wide(b: Band) -> Band:
        return replace(b, absolute=None if b.absolute is None else b.absolute * m,
                       relative=None if b.relative is None else b.relative * m)

    assets = tuple(replace(a, band=wide(a.band)) for a in config.portfolio.assets)
    return replace(config, bands=wide(config.bands),
                   portfolio=replace(config.portfolio, assets=assets))


def ytd_gain(ledger: LotLedger, day: date) -> Decimal:
    """Net gains realised in ``day``'s year (after wash-sale adjustments)."""
    return sum((d.gain for d in ledger.disposals if d.sold.year == day.year), ZERO)


def drift_bound(rows: Sequence[Row], value: float, multiple: float | None) -> str | None:
    """Why the gate leaves the tax out (None: it counts): the first asset outside
    ``multiple`` × its band, on the side it drifted to (from ``target`` to ``high`` above,
    to ``low`` below; a band cut at 0 % cannot be left below). Rows not counted in the
    drift (no target of their own) are not looked at. At the bound is inside it."""
    if multiple is None or value <= 0:
        return None
    for r in rows:
        if not r.counts_in_drift or r.liquidate or r.asset is None:
            continue
        w = r.value / value
        hi = r.target + multiple * (r.high - r.target)
        lo = r.target - multiple * (r.target - r.low)
        if w > hi + 1e-9 or w < lo - 1e-9:
            edge = hi if w > hi else lo
            return (f"{r.symbol} at {w:.1%} is outside {multiple:g}x its band "
                    f"({r.low:.1%}-{r.high:.1%}; the bound {edge:.1%})")
    return None


def _short_term_gain(d: Disposal) -> bool:
    return d.gain > 0 and d.term is not Term.LONG


@dataclass(slots=True)
class _Sale:
    k: int  # index in the drafts
    draft: Draft
    price: Decimal
    parts: list[Disposal]  # the lots it relieves, in relief order, up to its cap
    qty: Decimal

    @property
    def gain(self) -> Decimal:
        return sum((d.gain for d in self.parts), ZERO)


@dataclass(frozen=True, slots=True)
class TaxPolicy:
    tax: TaxConfig
    ledger: LotLedger
    day: date
    untrusted: str | None = None  # why the lots cannot be trusted (module docstring)

    # -- sells -----------------------------------------------------------------------------

    def cap_sells(
        self, sells: Sequence[Draft], rows: Sequence[Row], value: float, notes: list[str],
        skipped: list[SkippedSymbol],
    ) -> list[Draft]:
        """The sell drafts cut by the rules in the module docstring (same order)."""
        if self.untrusted is not None:
            return self._untrusted_sells(sells, notes, skipped)
        sales: list[_Sale] = []
        for k, d in enumerate(sells):
            r = rows[d.row]
            assert r.price is not None  # drafts are made for priced rows only
            price = Decimal(repr(r.price))
            qty = qty_decimal(d.ticks, whole=d.whole)
            held = self.ledger.position(r.symbol)
            if held < qty:
                notes.append(f"tax: {r.symbol}'s lots hold {held} of the {qty} shares to sell; "
                             "the rest is not sold (import the lots: rebalanced lots import)")
                qty = held
            parts = preview_sale(self.ledger, r.symbol, qty, price, self.day) if qty > 0 else []
            cap, why = self._term_cap(r, parts, qty, price, value)
            sales.append(_Sale(k, d, price, _take(parts, cap), cap))
            if why:
                notes.append(why)
        self._budget(sales, notes)
        out: list[Draft] = []
        for s in sales:
            d = s.draft
            ticks = min(d.ticks, qty_ticks(round_qty(s.qty, whole=d.whole), whole=d.whole))
            if ticks <= 0:
                skipped.append(SkippedSymbol(d.symbol, "tax: not sold (see the plan's notes)"))
                continue
            out.append(d if ticks == d.ticks else
                       d._replace(ticks=ticks, floor_ticks=min(d.floor_ticks, ticks)))
        return out

    def _untrusted_sells(
        self, sells: Sequence[Draft], notes: list[str], skipped: list[SkippedSymbol]
    ) -> list[Draft]:
        fix = "import the lots (rebalanced lots import) and restart"
        if not self.tax.never_realize_short_term_gains:
            notes.append(f"tax: sells planned without tax-aware cuts or estimated tax: "
                         f"{self.untrusted}; {fix}")
            return list(sells)
        notes.append(f"tax: no sells: {self.untrusted}, so any sale may realise a short-term "
                     f"gain (never_realize_short_term_gains); {fix}")
        skipped.extend(SkippedSymbol(d.symbol, "tax: not sold while the lots cannot be "
                                     "trusted (see the plan's notes)") for d in sells)
        return []

    def _term_cap(
        self, r: Row, parts: Sequence[Disposal], qty: Decimal, price: Decimal, value: float
    ) -> tuple[Decimal, str | None]:
        free = ZERO
        first: Disposal | None = None
        for p in parts:
            if _short_term_gain(p):
                first = p
                break
            free += p.qty
        if first is None:
            return qty, None
        gain = money(first.gain)
        what = f"tax: {r.symbol} sold {free} of {qty} shares"
        if self.tax.never_realize_short_term_gains:
            return free, f"{what}: the next lot ({first.lot_id}) would realise a short-term " \
                         f"gain of {gain} (never_realize_short_term_gains)"
        wait = self.tax.wait_for_long_term_days
        if first.acquired is not None and first.term is Term.SHORT:
            days = (first_long_term_day(first.acquired) - self.day).days
            if 0 < days <= wait:
                return free, f"{what}: lot {first.lot_id} turns long-term in {days} day(s) " \
                             f"(its gain {gain} would be short-term now): waiting"
        halfway = (r.target + r.high) / 2
        need = Decimal(repr(max(0.0, (r.value - halfway * value) / float(price))))
        cap = min(qty, max(free, need.quantize(Decimal("1e-9"), ROUND_FLOOR)))
        if cap >= qty:
            return qty, None
        return cap, f"{what} (short-term gains only as far as the band needs, to " \
                    f"{halfway:.1%})"

    def _budget(self, sales: list[_Sale], notes: list[str]) -> None:
        budget = self.tax.annual_gain_budget
        if budget is None:
            return
        room = budget - ytd_gain(self.ledger, self.day)
        order = sorted(sales, key=lambda s: (s.gain / (s.qty * s.price) if s.qty else ZERO, s.k))
        for s in order:
            if s.gain <= room:
                room -= s.gain
                continue
            kept, qty = [], ZERO
            for p in s.parts:
                if p.gain <= room:
                    kept.append(p)
                    qty += p.qty
                    room -= p.gain
                    continue
                if p.gain > 0 and room > 0:  # part of this lot: its gain is pro rata
                    part = (p.qty * room / p.gain).quantize(Decimal("1e-9"), ROUND_FLOOR)
                    qty += part
                    room = ZERO
                break
            notes.append(f"tax: {s.draft[1]} sold {qty} of {s.qty} shares: the annual gain "
                         f"budget {money(budget)} is used up")
            s.qty, s.parts = qty, kept

    # -- the gate --------------------------------------------------------------------------

    def gate_cost(
        self, sells: Sequence[Emitted], rows: Sequence[Row], value: float
    ) -> tuple[Decimal, str]:
        """(the tax the gate adds to the plan's cost, a note with the figures): $0 when an
        asset is outside the drift bound (:func:`drift_bound`; the note says which) or the
        lots cannot be trusted (``untrusted``)."""
        if self.untrusted is not None:
            return ZERO, "est. tax not counted (the lots cannot be trusted: see the notes)"
        parts: list[Disposal] = []
        for o in sells:
            d = o[0]
            r = rows[d.row]
            qty = min(qty_decimal(d.ticks, whole=d.whole), self.ledger.position(r.symbol))
            if qty > 0 and r.price is not None:
                parts.extend(preview_sale(self.ledger, r.symbol, qty, Decimal(repr(r.price)),
                                          self.day))
        est = estimate_tax(parts, self.tax)
        cost = max(ZERO, est.tax).quantize(Decimal("0.01"))
        note = (f"est. tax {money(est.tax)} (short-term gain {money(est.short_term_gain)}, "
                f"long-term {money(est.long_term_gain)})")
        why = drift_bound(rows, value, self.tax.max_drift_band_multiple)
        if why is not None and cost > 0:
            return ZERO, f"{note} not counted: {why} (max_drift_band_multiple)"
        return cost, note

    # -- buys ------------------------------------------------------------------------------

    def block_buys(self, buys: Sequence[Draft], skipped: list[SkippedSymbol]) -> list[Draft]:
        """The buys that wash no loss realised in the last 30 days (the rest: skipped)."""
        out = []
        for d in buys:
            until = buy_washes_until(self.ledger, d.symbol, self.day)
            if until is None:
                out.append(d)
            else:
                skipped.append(SkippedSymbol(d.symbol, f"tax: a buy would wash a loss sale of its "
                                                   f"wash-sale group: no buy before {until}"))
        return out


def _take(parts: Sequence[Disposal], qty: Decimal) -> list[Disposal]:
    """The disposals covering the first ``qty`` shares (the last one pro rata)."""
    out, left = [], qty
    for p in parts:
        if left <= 0:
            break
        if p.qty <= left:
            out.append(p)
        else:
            f = left / p.qty
            out.append(replace(p, qty=left, proceeds=p.proceeds * f, basis=p.basis * f,
                               adjustment=p.adjustment * f))
        left -= p.qty
    return out
