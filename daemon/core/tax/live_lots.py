"""The engine's live lot ledger: the lots follow the account as events arrive.

The engine keeps one :class:`LiveLots` (``Engine.lots``) and calls three narrow hooks:

- :meth:`LiveLots.on_snapshot` with every ``AccountSnapshot``. A ledger that was never
  seeded (no lots imported, no journal to rebuild from) opens one lot per long position at
  the broker's ``avg_entry_price``, date unknown (``LotSource.POSITION``; reports flag
  them). It seeds once: later snapshots change nothing (fills do). A split the broker has
  already applied to the position is applied to the lots here too (see below).
- :meth:`LiveLots.on_fill` with every ``OrderFilled`` of an order the engine knows: a buy
  opens a lot at the fill's price, a sell relieves lots by the account's method
  (``[tax] relief_method``, FIFO on Alpaca, which matches its 1099-B). Each execution id
  counts once (a replayed trade stream adds nothing). The trade date is the fill's New York
  date, as in the journal's rebuild (``adapters/store/lot_journal``).
- :meth:`LiveLots.on_split` with every ``SplitAnnounced``. The broker repeats split records
  (the last days' ones on every poll), so a split is applied to a symbol's lots only while
  the lots hold ``position / ratio`` shares and the position holds ``position``: the lots
  catch up with a split the account shows, and never twice (a record of the same ratio
  within ``REPEAT_DAYS`` of one applied is a repeat). A split the account does not show
  yet waits (``SplitGuard.pending``) for the snapshot that shows it.

At start-up the daemon passes the ledger rebuilt from the journal (``lot_journal``) with
its execution ids, so the lots after a restart are the lots before it. When the journal's
fills do not rebuild them (``SeedLots.rebuild_failed``, the reason), the first snapshot
seeds the lots from the positions as for a new account, but the journal's history is lost
with them: the realised sales (this year's gains, the losses the wash-sale guard and the
harvester's return wait on) and the wash-sale adjustments, and the per-lot dates and costs
become the broker's one average. Such lots are ``untrusted`` like out-of-sync ones.

A fill the ledger cannot apply (a sale of more than the lots hold: trades made outside
rebalanced) leaves the ledger as it was and marks it ``out_of_sync`` with the reason; the
engine reports it once (an Alert) in a taxable account. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

# the module, not its names: commands -> planning -> config -> tax.policy -> here is a
# cycle, and importing commands (or the journal) first must not fail on it
from daemon.core import commands
from daemon.core.config.tax import TaxConfig
from daemon.core.events import OrderFilled
from daemon.core.model import Side
from daemon.core.orders.lifecycle import TrackedOrder
from daemon.core.tax.ledger import (
    Bought,
    LedgerEntry,
    LedgerError,
    LotLedger,
    LotsOpened,
    Sold,
    Split,
)
from daemon.core.tax.lots import ZERO, Lot, LotSource

NEW_YORK = ZoneInfo("America/New_York")
SPLIT_TOLERANCE = Decimal("1e-6")  # shares: fractional positions round at the broker
REPEAT_DAYS = 14  # the broker lists the last 7 days' split records on every poll
LOT_STATES = ("ok", "out_of_sync", "seeded_from_positions")  # ``LiveLots.state``

__all__ = ["LOT_STATES", "LiveLots", "SeedLots", "SplitGuard", "fill_delta", "lot_fill", "position_lots", "split_shows", "trade_day"]


def fill_delta(
    filled: dict[str, tuple[Decimal, Decimal]], order_id: str, qty: Decimal, price: Decimal,
    cum_qty: Decimal,
) -> tuple[Decimal, Decimal] | None:
    """The shares (and their price) an execution adds to the lots of ``order_id``, given
    ``filled`` (order → cumulative shares and notional the lots took; updated here), or
    None when it adds nothing. A report that covers the whole fill so far (``qty ==
    cum_qty``: the broker's state of the order read back over REST after a reconnect or a
    lookup, at the order's average price) adds only what the lots do not hold yet, priced
    so that the order's notional comes out right; it has an execution id of its own, so the
    id alone cannot tell it repeats fills already taken. An execution adds its own shares,
    at most up to its cumulative quantity."""
    done_qty, done_notional = filled.get(order_id, (ZERO, ZERO))
    if qty == cum_qty:
        delta = cum_qty - done_qty
        if delta <= 0:
            return None
        part = (cum_qty * price - done_notional) / delta
        at_price = part if part > 0 else price
    else:
        delta = min(qty, cum_qty - done_qty)
        if delta <= 0:
            return None
        at_price = price
    filled[order_id] = (done_qty + delta, done_notional + delta * at_price)
    return delta, at_price


def trade_day(at: datetime) -> date:
    """The trade date of an event: its New York date (what the broker's 1099-B uses)."""
    return at.astimezone(NEW_YORK).date()


def position_lots(
    positions: Mapping[str, Decimal], avg_entry_prices: Mapping[str, Decimal]
) -> tuple[list[Lot], list[str]]:
    """One date-unknown lot per long position at its average entry price, and the symbols
    that have no price (their basis is unknown; no lot opens for them)."""
    lots, missing = [], []
    for symbol in sorted(positions):
        qty = Decimal(positions[symbol])
        if qty <= 0:
            continue
        price = avg_entry_prices.get(symbol)
        if price is None:
            missing.append(symbol)
            continue
        lots.append(Lot(f"position-{symbol}", symbol, None, qty, qty * Decimal(price),
                        source=LotSource.POSITION))
    return lots, missing


def split_shows(lots_qty: Decimal, position: Decimal, ratio: Decimal) -> bool:
    """True when ``position`` is ``lots_qty`` after a split of ``ratio`` (and not before)."""
    if lots_qty <= 0 or ratio <= 0 or ratio == 1:
        return False
    return (abs(lots_qty * ratio - position) <= SPLIT_TOLERANCE
            and abs(lots_qty - position) > SPLIT_TOLERANCE)


@dataclass(slots=True)
class SplitGuard:
    """When a (repeated) split record applies to the lots: once the position shows it, and
    not again for a record of the same split (same ratio within ``REPEAT_DAYS``)."""

    pending: dict[str, Decimal] = field(default_factory=dict)  # symbol → ratio, not shown
    done: dict[str, tuple[Decimal, datetime]] = field(default_factory=dict)

    def announced(
        self, symbol: str, ratio: Decimal, held: Decimal, position: Decimal, at: datetime
    ) -> bool:
        """True: apply the split now."""
        if split_shows(held, position, ratio):
            self.pending.pop(symbol, None)
            self.done[symbol] = (ratio, at)
            return True
        last = self.done.get(symbol)
        if last is not None and last[0] == ratio and at - last[1] <= timedelta(REPEAT_DAYS):
            return False  # a repeat of a split already applied
        if held > 0 and abs(held - position) <= SPLIT_TOLERANCE:
            self.pending[symbol] = ratio  # the account is not split yet: wait for it
        return False

    def shown(
        self, held: Mapping[str, Decimal], positions: Mapping[str, Decimal], at: datetime
    ) -> list[tuple[str, Decimal]]:
        """The pending splits a snapshot's ``positions`` show: apply them now."""
        out = []
        for symbol, ratio in list(self.pending.items()):
            if split_shows(held.get(symbol, ZERO), Decimal(positions.get(symbol, ZERO)), ratio):
                out.append((symbol, ratio))
                del self.pending[symbol]
                self.done[symbol] = (ratio, at)
        return out


@dataclass(frozen=True, slots=True)
class SeedLots:
    """What the daemon hands the engine at start-up: a rebuilt ledger, whether it was
    seeded (an import, or the journal's first snapshot), and the execution ids in it."""

    ledger: LotLedger
    seeded: bool
    execution_ids: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()
    order_fills: Mapping[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    rebuild_failed: str | None = None  # why the journal's fills did not rebuild the lots


@dataclass(slots=True)
class LiveLots:
    ledger: LotLedger
    seeded: bool = False
    execution_ids: set[str] = field(default_factory=set)
    splits: SplitGuard = field(default_factory=SplitGuard)
    out_of_sync: str | None = None  # why the lots stopped following the account
    missing_prices: tuple[str, ...] = ()  # positions seeded without a lot (no avg price)
    applied: list[LedgerEntry] | None = None  # when a list: every entry applied, in order
    # order → (shares, notional) the lots took from its fills (``fill_delta``)
    order_fills: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    rebuild_failed: str | None = None  # ``SeedLots.rebuild_failed``: seeded from positions

    @classmethod
    def fresh(cls, tax: TaxConfig) -> LiveLots:
        groups = dict(tax.wash_sale_groups)
        return cls(LotLedger(tax.relief_method, groups))

    @classmethod
    def from_seed(cls, seed: SeedLots) -> LiveLots:
        return cls(seed.ledger, seed.seeded, set(seed.execution_ids),
                   order_fills=dict(seed.order_fills), rebuild_failed=seed.rebuild_failed)

    # -- reading ---------------------------------------------------------------------------

    def lots(self, symbol: str | None = None) -> list[Lot]:
        return self.ledger.lots(symbol)

    @property
    def state(self) -> str:
        """One of ``LOT_STATES``: ``ok``, or why the lots are ``untrusted``."""
        if self.out_of_sync is not None:
            return "out_of_sync"
        return "ok" if self.rebuild_failed is None else "seeded_from_positions"

    @property
    def untrusted(self) -> str | None:
        """Why tax-aware decisions must not trust these lots (None: they may): the ledger
        stopped following the account, or it was seeded from the positions because the
        journal's fills did not rebuild it. The planner then makes no tax-aware cuts and the
        harvester harvests nothing (``tax.policy``, ``engine.harvesting``)."""
        if self.out_of_sync is not None:
            return f"the lot ledger is out of sync with the account ({self.out_of_sync})"
        if self.rebuild_failed is not None:
            return ("the lots were seeded from the broker's positions at start-up (average "
                    "cost, dates unknown; the journal's realised sales and wash-sale "
                    "adjustments not known) because the journal's fills did not rebuild them "
                    f"({self.rebuild_failed})")
        return None

    @property
    def date_unknown(self) -> list[Lot]:
        """Lots opened from a broker position: their term is unknown (flag them)."""
        return [lot for lot in self.ledger.lots() if lot.date_unknown]

    # -- the hooks -------------------------------------------------------------------------

    def on_snapshot(
        self, positions: Mapping[str, Decimal], avg_entry_prices: Mapping[str, Decimal],
        at: datetime,
    ) -> None:
        if not self.seeded:
            lots, missing = position_lots(positions, avg_entry_prices)
            self._apply(LotsOpened(tuple(lots)))
            self.seeded = True
            self.missing_prices = tuple(missing)
        held = {sym: self.ledger.position(sym) for sym in self.splits.pending}
        for symbol, ratio in self.splits.shown(held, positions, at):
            self._apply(Split(trade_day(at), symbol, ratio))

    def on_fill(
        self, execution_id: str, symbol: str, side: Side, qty: Decimal, price: Decimal,
        at: datetime, *, order_id: str | None = None, cum_qty: Decimal | None = None,
    ) -> bool:
        """Apply one execution; False when it was seen before or could not be applied.
        With ``order_id`` and ``cum_qty``, only the shares the order's earlier fills did
        not bring (``fill_delta``)."""
        if execution_id in self.execution_ids:
            return False
        self.execution_ids.add(execution_id)
        if order_id is not None and cum_qty is not None:
            got = fill_delta(self.order_fills, order_id, qty, price, cum_qty)
            if got is None:
                return False
            qty, price = got
        day = trade_day(at)
        ref = f"execution {execution_id}"
        entry = (Bought(day, symbol, qty, price, ref=ref) if side is Side.BUY
                 else Sold(day, symbol, qty, price, ref=ref))
        try:
            self._apply(entry)
        except LedgerError as e:
            self.out_of_sync = str(e)
            return False
        return True

    def on_split(self, symbol: str, ratio: float, position: Decimal, at: datetime) -> bool:
        """Apply a split the position already shows; remember one it does not show yet."""
        r = Decimal(repr(ratio))
        if not self.splits.announced(symbol, r, self.ledger.position(symbol), position, at):
            return False
        self._apply(Split(trade_day(at), symbol, r))
        return True

    def _apply(self, entry: LedgerEntry) -> None:
        self.ledger.apply(entry)
        if self.applied is not None:
            self.applied.append(entry)

    def seen(self, execution_ids: Iterable[str]) -> None:
        self.execution_ids.update(execution_ids)


def lot_fill(
    lots: LiveLots, order: TrackedOrder | None, e: OrderFilled, tax: TaxConfig
) -> list[commands.Command]:
    """The engine's fill hook: apply ``e`` to the lots when its order is known; an Alert
    (once, in a taxable account) when the lots stop following the account."""
    if order is None:
        return []
    was = lots.out_of_sync
    lots.on_fill(e.execution_id, order.symbol, order.side, e.qty, e.price, e.at,
                 order_id=e.client_order_id, cum_qty=e.cum_qty)
    if lots.out_of_sync is None or was is not None or not tax.taxable:
        return []
    return [commands.Alert("warning", f"the lot ledger stopped following the account: "
                             f"{lots.out_of_sync}")]
