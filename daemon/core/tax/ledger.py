"""The lot ledger: entries in, lots and disposals out. Deterministic; no I/O, no clock.

Entries are facts in trade-date order (the journal's order): :class:`LotsOpened` (an import
or the broker's positions), :class:`Bought`, :class:`Sold`, :class:`Split`,
:class:`DividendReinvested` and :class:`LinkedPurchase` (a buy in a linked IRA, which opens
no lot here but can wash a loss). ``LotLedger.apply`` takes one; :func:`replay` a sequence.

A buy opens a lot at ``qty × price + fee``. A sale relieves lots by the ledger's
:class:`~daemon.core.tax.lots.ReliefMethod` (FIFO, Alpaca's, by default) or by the lots it names
(specific identification), and records one :class:`~daemon.core.tax.lots.Disposal` per lot it
touches, with the sale's proceeds net of its fee shared pro rata. Loss disposals then go
through the wash-sale rules (:mod:`daemon.core.tax.wash_sales`): replacements bought in the 30
days before are matched at once, those bought in the 30 days after as they arrive, so a
disposal's adjustment can grow after the sale (the ledger replaces it in place).

Selling more than the lots hold is refused (:class:`LedgerError`): the core never goes
short, so it means lots are missing (import them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from daemon.core.tax.lots import ZERO, Disposal, Lot, LotSource, ReliefMethod
from daemon.core.tax.relief import relief_order
from daemon.core.tax.wash_sales import (
    WASH_WINDOW_DAYS,
    LinkedBuy,
    PendingLoss,
    WashSaleGroups,
    carried_holding_from,
    in_window,
)

__all__ = [
    "Bought",
    "DividendReinvested",
    "LedgerEntry",
    "LedgerError",
    "LinkedPurchase",
    "LotLedger",
    "LotsOpened",
    "Sold",
    "Split",
    "merge_by_day",
    "replay",
]

QUANTUM = Decimal("1e-9")
"""Pro-rata shares of basis and fees are rounded to this; the remainder stays exact."""


class LedgerError(ValueError):
    """An entry the ledger cannot apply; the message names it and the fix."""


@dataclass(frozen=True, slots=True)
class LotsOpened:
    """Lots that exist before the entries that follow (an import, the broker's positions)."""

    lots: tuple[Lot, ...]


@dataclass(frozen=True, slots=True)
class Bought:
    day: date
    symbol: str
    qty: Decimal
    price: Decimal
    fee: Decimal = ZERO
    ref: str = ""  # e.g. the execution id, for error messages


@dataclass(frozen=True, slots=True)
class Sold:
    day: date
    symbol: str
    qty: Decimal
    price: Decimal
    fee: Decimal = ZERO
    ref: str = ""
    lots: tuple[tuple[str, Decimal], ...] = ()  # specific identification: (lot_id, qty)


@dataclass(frozen=True, slots=True)
class Split:
    """``ratio`` new shares per old share (2 for a 2-for-1, 0.1 for a 1-for-10)."""

    day: date
    symbol: str
    ratio: Decimal


@dataclass(frozen=True, slots=True)
class DividendReinvested:
    day: date
    symbol: str
    qty: Decimal
    amount: Decimal  # the dividend reinvested: the new lot's basis


@dataclass(frozen=True, slots=True)
class LinkedPurchase:
    """A buy in a linked account (an IRA, ``account`` names it). No lot opens here; a loss
    it washes is disallowed for good (Rev. Rul. 2008-5)."""

    day: date
    symbol: str
    qty: Decimal
    account: str = "ira"


LedgerEntry = LotsOpened | Bought | Sold | Split | DividendReinvested | LinkedPurchase


def _q(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM)


def _positive(value: Decimal, what: str, where: str) -> None:
    if not value.is_finite() or value <= 0:
        raise LedgerError(f"{where}: {what} must be a positive number, got {value}")


def _fee(value: Decimal, where: str) -> None:
    if not value.is_finite() or value < 0:
        raise LedgerError(f"{where}: the fee must be zero or more, got {value}")


class LotLedger:
    """Open lots per symbol (in opening order), every disposal, and the wash-sale state."""

    def __init__(
        self,
        method: ReliefMethod = ReliefMethod.FIFO,
        groups: WashSaleGroups | Mapping[str, str] | None = None,
    ) -> None:
        self.method = method
        self.groups = groups if isinstance(groups, WashSaleGroups) else WashSaleGroups(groups)
        self._lots: dict[str, list[Lot]] = {}
        self._held: dict[str, Decimal] = {}  # the sum of each symbol's lots, kept as they change
        self._disposals: list[Disposal] = []
        self._pending: list[PendingLoss] = []
        # losses whose window closed before the latest buy (buys in date order never reach
        # them again: kept only for a buy dated before the latest, which goes back over them)
        self._expired: list[PendingLoss] = []
        self._expired_matched = False  # a buy went back over ``_expired`` since the last drop
        self._latest_buy: date | None = None
        self._linked: list[LinkedBuy] = []
        self._next = 0
        self._sales = 0

    # -- reading ---------------------------------------------------------------------------

    def lots(self, symbol: str | None = None) -> list[Lot]:
        if symbol is not None:
            return list(self._lots.get(symbol, ()))
        return [lot for sym in sorted(self._lots) for lot in self._lots[sym]]

    def position(self, symbol: str) -> Decimal:
        return self._held.get(symbol, ZERO)

    def positions(self) -> dict[str, Decimal]:
        return {s: self.position(s) for s in sorted(self._lots) if self._lots[s]}

    @property
    def disposals(self) -> list[Disposal]:
        return list(self._disposals)

    def copy(self) -> LotLedger:
        """An independent copy (for previews): lots and disposals are immutable, so only
        the containers and the mutable wash-sale state are copied (far cheaper than
        ``copy.deepcopy``)."""
        out = LotLedger(self.method, self.groups)
        out._lots = {s: list(v) for s, v in self._lots.items()}
        out._held = dict(self._held)
        out._disposals = list(self._disposals)
        out._pending = [replace(p) for p in self._pending]
        out._expired = [replace(p) for p in self._expired]
        out._latest_buy = self._latest_buy
        out._linked = [replace(b) for b in self._linked]
        out._next, out._sales = self._next, self._sales
        return out

    # -- applying ----------------------------------------------------------------------------

    def apply(self, entry: LedgerEntry) -> None:
        if isinstance(entry, LotsOpened):
            self._open_existing(entry.lots)
        elif isinstance(entry, Bought):
            where = f"buy of {entry.symbol} on {entry.day}{_ref(entry.ref)}"
            _positive(entry.qty, "quantity", where)
            _positive(entry.price, "price", where)
            _fee(entry.fee, where)
            self._open(entry.day, entry.symbol, entry.qty, entry.qty * entry.price + entry.fee,
                       LotSource.FILL)
        elif isinstance(entry, DividendReinvested):
            where = f"reinvested dividend of {entry.symbol} on {entry.day}"
            _positive(entry.qty, "quantity", where)
            _positive(entry.amount, "amount", where)
            self._open(entry.day, entry.symbol, entry.qty, entry.amount, LotSource.DIVIDEND)
        elif isinstance(entry, Sold):
            self._sell(entry)
        elif isinstance(entry, Split):
            self._split(entry)
        elif isinstance(entry, LinkedPurchase):
            _positive(entry.qty, "quantity", f"{entry.account} buy of {entry.symbol}")
            buy = LinkedBuy(entry.day, entry.symbol, self.groups.of(entry.symbol),
                            entry.account, entry.qty)
            self._wash_pending_with_linked(buy)
            if buy.qty > 0:
                self._linked.append(buy)
        else:  # pragma: no cover - exhaustive over LedgerEntry
            raise LedgerError(f"unknown ledger entry {type(entry).__name__}")

    def _new_id(self, symbol: str) -> str:
        self._next += 1
        return f"{symbol}-{self._next}"

    def _open_existing(self, lots: Iterable[Lot]) -> None:
        for lot in lots:
            _positive(lot.qty, "quantity", f"lot {lot.lot_id} of {lot.symbol}")
            if not lot.basis.is_finite() or lot.basis < 0:
                raise LedgerError(f"lot {lot.lot_id} of {lot.symbol}: basis {lot.basis} < 0")
            if any(x.lot_id == lot.lot_id for x in self._lots.get(lot.symbol, ())):
                raise LedgerError(f"lot id {lot.lot_id} is opened twice")
            self._lots.setdefault(lot.symbol, []).append(lot)
            self._held[lot.symbol] = self.position(lot.symbol) + lot.qty

    def _open(self, day: date, symbol: str, qty: Decimal, basis: Decimal, source: LotSource) -> None:
        lot = Lot(self._new_id(symbol), symbol, day, qty, basis, source=source)
        self._lots.setdefault(symbol, []).append(lot)
        self._held[symbol] = self.position(symbol) + qty
        self._wash_pending_with_lot(lot)

    # -- sales -------------------------------------------------------------------------------

    def _sell(self, sale: Sold) -> None:
        where = f"sale of {sale.qty} {sale.symbol} on {sale.day}{_ref(sale.ref)}"
        _positive(sale.qty, "quantity", where)
        _positive(sale.price, "price", where)
        _fee(sale.fee, where)
        held = self.position(sale.symbol)
        if sale.qty > held:
            raise LedgerError(
                f"{where}: the lots hold only {held} shares; import the lots bought before "
                "the journal began (rebalanced lots import) or check for trades made outside "
                "rebalanced"
            )
        self._sales += 1
        sale_id = f"S{self._sales}"
        picks = self._picks(sale, where)
        proceeds_left = sale.qty * sale.price - sale.fee
        qty_left = sale.qty
        losses: list[PendingLoss] = []
        for lot, qty in picks:
            if qty == qty_left:
                proceeds = proceeds_left
            else:
                proceeds = _q(proceeds_left * qty / qty_left)
            proceeds_left -= proceeds
            qty_left -= qty
            basis = lot.basis if qty == lot.qty else _q(lot.basis * qty / lot.qty)
            self._relieve(lot, qty, basis)
            disposal = Disposal(
                sale_id=sale_id, lot_id=lot.lot_id, symbol=lot.symbol, qty=qty,
                acquired=lot.holding_from, sold=sale.day, proceeds=proceeds, basis=basis,
                term=lot.term_on(sale.day),
            )
            self._disposals.append(disposal)
            if disposal.raw_gain < 0:
                losses.append(PendingLoss(len(self._disposals) - 1, self.groups.of(lot.symbol),
                                          sale.day, qty, -disposal.raw_gain, lot.holding_from,
                                          lot.lot_id))
        # only once every sold share is gone: shares sold together never replace each other
        for pending in losses:
            self._wash_with_earlier_buys(pending)
            if pending.qty > 0:
                self._pending.append(pending)

    def _picks(self, sale: Sold, where: str) -> list[tuple[Lot, Decimal]]:
        lots = self._lots.get(sale.symbol, [])
        if sale.lots:
            by_id = {lot.lot_id: lot for lot in lots}
            picks: list[tuple[Lot, Decimal]] = []
            for lot_id, qty in sale.lots:
                lot = by_id.get(lot_id)
                if lot is None:
                    raise LedgerError(f"{where}: no open {sale.symbol} lot {lot_id!r}")
                _positive(qty, f"quantity for lot {lot_id}", where)
                if qty > lot.qty:
                    raise LedgerError(f"{where}: lot {lot_id} holds only {lot.qty}, not {qty}")
                picks.append((lot, qty))
            if sum((q for _, q in picks), ZERO) != sale.qty:
                raise LedgerError(f"{where}: the named lots' quantities do not add up to it")
            return picks
        if self.method is ReliefMethod.SPECIFIC_ID:
            raise LedgerError(f"{where}: specific identification needs the lots named")
        net_price = (sale.qty * sale.price - sale.fee) / sale.qty
        picks, left = [], sale.qty
        for lot in relief_order(lots, self.method, price=net_price, sold=sale.day):
            if left <= 0:
                break
            take = min(lot.qty, left)
            picks.append((lot, take))
            left -= take
        return picks

    def _relieve(self, lot: Lot, qty: Decimal, basis: Decimal) -> None:
        lots = self._lots[lot.symbol]
        i = _index(lots, lot)
        self._held[lot.symbol] -= qty
        if qty == lot.qty:
            del lots[i]
            return
        ratio_left = (lot.qty - qty) / lot.qty
        lots[i] = replace(
            lot, qty=lot.qty - qty, basis=lot.basis - basis,
            wash_adjustment=_q(lot.wash_adjustment * ratio_left),
        )

    # -- wash sales --------------------------------------------------------------------------

    def _wash_with_earlier_buys(self, pending: PendingLoss) -> None:
        """Match a new loss against lots and linked buys from the 30 days before it."""
        candidates: list[tuple[date, int, Lot | LinkedBuy]] = []
        order = 0
        for symbol in sorted(self._lots):
            if self.groups.of(symbol) != pending.group:
                continue
            for lot in self._lots[symbol]:
                order += 1
                if (not lot.replacement and lot.acquired is not None
                        and lot.lot_id != pending.lot_id
                        and lot.acquired <= pending.sold and in_window(pending.sold, lot.acquired)):
                    candidates.append((lot.acquired, order, lot))
        for buy in self._linked:
            order += 1
            if (buy.group == pending.group and buy.qty > 0 and buy.day <= pending.sold
                    and in_window(pending.sold, buy.day)):
                candidates.append((buy.day, order, buy))
        candidates.sort(key=lambda c: (c[0], c[1]))
        for _, _, item in candidates:
            if pending.qty <= 0:
                return
            if isinstance(item, LinkedBuy):
                self._wash_linked(pending, item)
            else:
                self._wash_lot(pending, item)

    def _open_losses(self, day: date) -> list[PendingLoss]:
        """The pending losses a buy on ``day`` can wash, oldest first. Pending losses are in
        trade-date order, so when buys come in date order (the journal's) those whose
        30-day window ended before ``day`` are pruned from the front (to ``_expired``): a
        buy then scans only the losses of its window, not every loss ever pending. A buy
        dated before the latest one goes over the pruned ones again (same matches)."""
        if self._latest_buy is not None and day < self._latest_buy:
            self._expired_matched = True
            return [*self._expired, *self._pending]
        self._latest_buy = day
        pending = self._pending
        k = 0
        while k < len(pending) and (day - pending[k].sold).days > WASH_WINDOW_DAYS:
            k += 1
        if k:
            self._expired.extend(p for p in pending[:k] if p.qty > 0)
            del pending[:k]
        return pending

    def _drop_washed(self) -> None:
        self._pending = [p for p in self._pending if p.qty > 0]
        # only a buy dated before the latest washes an expired loss: scanning them after
        # every buy made a long run quadratic (20 years of monthly rebalancing: 5 M checks)
        if self._expired_matched:
            self._expired_matched = False
            self._expired = [p for p in self._expired if p.qty > 0]

    def _wash_pending_with_lot(self, lot: Lot) -> None:
        """Match a new lot against losses from the 30 days before it (oldest first)."""
        if lot.acquired is None:
            return
        group = self.groups.of(lot.symbol)
        for pending in self._open_losses(lot.acquired):
            if lot.replacement:
                break
            if (pending.group == group and pending.qty > 0 and lot.acquired is not None
                    and in_window(pending.sold, lot.acquired)):
                lot = self._wash_lot(pending, lot)
        self._drop_washed()

    def _wash_pending_with_linked(self, buy: LinkedBuy) -> None:
        for pending in self._open_losses(buy.day):
            if buy.qty <= 0:
                break
            if pending.group == buy.group and pending.qty > 0 and in_window(pending.sold, buy.day):
                self._wash_linked(pending, buy)
        self._drop_washed()

    def _wash_lot(self, pending: PendingLoss, lot: Lot) -> Lot:
        """Wash up to ``lot.qty`` shares of ``pending`` with ``lot``: split off the
        replacement part, basis and holding period adjusted. Returns the unused rest of
        the lot (itself when nothing was left over) so the caller can go on matching."""
        qty = min(pending.qty, lot.qty)
        disallowed = pending.take(qty)
        self._adjust_disposal(pending.disposal_index, disallowed, permanent=False)
        lots = self._lots[lot.symbol]
        i = _index(lots, lot)
        part_basis = lot.basis if qty == lot.qty else _q(lot.basis * qty / lot.qty)
        assert lot.acquired is not None  # candidates always have a date
        carried = carried_holding_from(lot.acquired, pending.sold, pending.holding_from)
        washed = Lot(
            lot_id=lot.lot_id if qty == lot.qty else self._new_id(lot.symbol),
            symbol=lot.symbol, acquired=lot.acquired, qty=qty,
            basis=part_basis + disallowed,
            holding_from=carried or lot.acquired,
            source=lot.source if qty == lot.qty else LotSource.WASH,
            wash_adjustment=disallowed, replacement=True,
            holding_unknown=carried is None,
        )
        if qty == lot.qty:
            lots[i] = washed
            return washed
        rest = replace(lot, qty=lot.qty - qty, basis=lot.basis - part_basis)
        lots[i : i + 1] = [washed, rest]
        return rest

    def _wash_linked(self, pending: PendingLoss, buy: LinkedBuy) -> None:
        qty = min(pending.qty, buy.qty)
        buy.qty -= qty
        self._adjust_disposal(pending.disposal_index, pending.take(qty), permanent=True)

    def _adjust_disposal(self, index: int, disallowed: Decimal, *, permanent: bool) -> None:
        d = self._disposals[index]
        self._disposals[index] = replace(
            d, adjustment=d.adjustment + disallowed,
            permanent_amount=d.permanent_amount + (disallowed if permanent else ZERO),
        )

    # -- corporate actions ---------------------------------------------------------------------

    def _split(self, split: Split) -> None:
        _positive(split.ratio, "ratio", f"split of {split.symbol} on {split.day}")
        self._lots[split.symbol] = [
            replace(lot, qty=lot.qty * split.ratio) for lot in self._lots.get(split.symbol, [])
        ]
        self._held[split.symbol] = sum((x.qty for x in self._lots[split.symbol]), ZERO)
        for pending in (*self._expired, *self._pending):
            if self._disposals[pending.disposal_index].symbol == split.symbol:
                pending.qty *= split.ratio
        for buy in self._linked:
            if buy.symbol == split.symbol:
                buy.qty *= split.ratio


def _index(lots: list[Lot], lot: Lot) -> int:
    """Where ``lot`` (this very object) is: identity, not field-by-field equality."""
    for i, x in enumerate(lots):
        if x is lot:
            return i
    raise LedgerError(f"lot {lot.lot_id} of {lot.symbol} is not open")  # pragma: no cover


def _ref(ref: str) -> str:
    return f" ({ref})" if ref else ""


def merge_by_day(
    entries: Sequence[LedgerEntry], extra: Iterable[LinkedPurchase]
) -> list[LedgerEntry]:
    """``entries`` with each of ``extra`` placed after the last entry of its day (or
    before the first later one); ``LotsOpened`` stays first. Stable and deterministic."""
    out = list(entries)
    for item in sorted(extra, key=lambda e: e.day):
        at = len(out)
        for i, e in enumerate(out):
            if not isinstance(e, LotsOpened) and e.day > item.day:
                at = i
                break
        out.insert(at, item)
    return out


def replay(
    entries: Sequence[LedgerEntry] | Iterable[LedgerEntry],
    method: ReliefMethod = ReliefMethod.FIFO,
    groups: WashSaleGroups | Mapping[str, str] | None = None,
) -> LotLedger:
    """A fresh ledger with every entry applied in order."""
    ledger = LotLedger(method, groups)
    for entry in entries:
        ledger.apply(entry)
    return ledger
