"""Tax reports from the ledger: realised gains per disposal (Form 8949-like rows), totals
by term, and unrealised gains per open lot. Pure; amounts rounded to cents for display.

Form 8949 columns: (a) description, (b) date acquired, (c) date sold, (d) proceeds, (e) cost
basis, (f) adjustment code, (g) adjustment amount, (h) gain or loss = (d) − (e) + (g). A
washed loss shows code ``W`` and the disallowed amount in (g). Date acquired is the holding
period's start (carried over from washed shares). ``flags`` say what a reader must check:
``date_unknown`` (the lot came from a broker position without a date: the term is unknown
until you import the real lots) and ``permanent`` (some or all of the loss was washed by a
purchase in a linked IRA: that part, ``RealisedRow.permanent``, is disallowed for good and
raised no basis anywhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from daemon.core.tax.lots import ZERO, Disposal, Lot, Term

__all__ = ["RealisedRow", "TermTotals", "UnrealisedRow", "realised", "totals", "unrealised"]

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _qty(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


@dataclass(frozen=True, slots=True)
class RealisedRow:
    description: str
    symbol: str
    lot_id: str
    qty: Decimal
    acquired: date | None
    sold: date
    proceeds: Decimal
    basis: Decimal
    code: str
    adjustment: Decimal
    gain: Decimal
    term: Term
    flags: tuple[str, ...]
    permanent: Decimal = ZERO  # the part of ``adjustment`` washed by a linked IRA


@dataclass(frozen=True, slots=True)
class TermTotals:
    term: Term
    proceeds: Decimal
    basis: Decimal
    gains: Decimal  # the sum of positive (h)
    losses: Decimal  # the sum of negative (h), negative
    disallowed: Decimal  # the sum of (g)

    @property
    def net(self) -> Decimal:
        return self.gains + self.losses


@dataclass(frozen=True, slots=True)
class UnrealisedRow:
    symbol: str
    lot_id: str
    qty: Decimal
    acquired: date | None
    holding_from: date | None
    basis: Decimal
    price: Decimal | None
    value: Decimal | None
    gain: Decimal | None
    term: Term
    wash_adjustment: Decimal
    flags: tuple[str, ...]
    days_to_long_term: int | None = None  # 0: long-term already; None: unknown


def realised(disposals: Iterable[Disposal], year: int) -> list[RealisedRow]:
    """One row per disposal sold in ``year``, in sale order."""
    rows = []
    for d in disposals:
        if d.sold.year != year:
            continue
        flags = []
        if d.date_unknown:
            flags.append("date_unknown")
        elif d.term is Term.UNKNOWN:
            flags.append("holding_unknown")
        if d.permanent:
            flags.append("permanent")
        proceeds, basis, adjustment = cents(d.proceeds), cents(d.basis), cents(d.adjustment)
        rows.append(
            RealisedRow(
                description=f"{_qty(d.qty)} sh. {d.symbol}",
                symbol=d.symbol,
                lot_id=d.lot_id,
                qty=d.qty,
                acquired=d.acquired,
                sold=d.sold,
                proceeds=proceeds,
                basis=basis,
                code=d.code,
                adjustment=adjustment,
                gain=proceeds - basis + adjustment,
                term=d.term,
                flags=tuple(flags),
                permanent=cents(d.permanent_amount),
            )
        )
    return rows


def totals(rows: Iterable[RealisedRow]) -> list[TermTotals]:
    """Totals per term (short, long, then unknown when any)."""
    acc: dict[Term, list[Decimal]] = {}
    for r in rows:
        t = acc.setdefault(r.term, [ZERO, ZERO, ZERO, ZERO, ZERO])
        t[0] += r.proceeds
        t[1] += r.basis
        if r.gain > 0:
            t[2] += r.gain
        else:
            t[3] += r.gain
        t[4] += r.adjustment
    out = []
    for term in (Term.SHORT, Term.LONG, Term.UNKNOWN):
        if term in acc or term is not Term.UNKNOWN:
            v = acc.get(term, [ZERO] * 5)
            out.append(TermTotals(term, v[0], v[1], v[2], v[3], v[4]))
    return out


def unrealised(lots: Iterable[Lot], prices: Mapping[str, Decimal], on: date) -> list[UnrealisedRow]:
    """Each open lot valued at ``prices`` (a symbol without a price has no value), with the
    term it would have if sold on ``on``."""
    rows = []
    for lot in lots:
        price = prices.get(lot.symbol)
        value = None if price is None else cents(lot.qty * price)
        basis = cents(lot.basis)
        flags = []
        if lot.date_unknown:
            flags.append("date_unknown")
        elif lot.holding_unknown:  # it replaced washed shares whose date is unknown
            flags.append("holding_unknown")
        if price is None:
            flags.append("no_price")
        if lot.wash_adjustment:
            flags.append("wash_replacement")
        rows.append(
            UnrealisedRow(
                symbol=lot.symbol,
                lot_id=lot.lot_id,
                qty=lot.qty,
                acquired=lot.acquired,
                holding_from=lot.holding_from,
                basis=basis,
                price=price,
                value=value,
                gain=None if value is None else value - basis,
                term=lot.term_on(on),
                wash_adjustment=cents(lot.wash_adjustment),
                flags=tuple(flags),
                days_to_long_term=lot.days_to_long_term(on),
            )
        )
    return rows

