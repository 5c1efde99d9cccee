"""Hypothesis properties of the lot ledger over random trade sequences.

- the lots' quantity always equals the position the trades imply (whatever the method);
- basis is conserved: what was paid, plus the wash-sale losses moved into replacement lots,
  equals the basis still open plus the basis relieved;
- with no losses (so no wash sales), FIFO relief equals an independent reference FIFO;
- replaying the same entries gives the same lots and disposals.
"""

from __future__ import annotations

from collections import deque
from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.core.tax.ledger import Bought, LedgerEntry, LinkedPurchase, Sold, Split, replay
from daemon.core.tax.lots import ReliefMethod

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
START = date(2024, 1, 2)
SYMBOLS = ("VTI", "ITOT", "BND")
AUTO_METHODS = [m for m in ReliefMethod if m is not ReliefMethod.SPECIFIC_ID]


@st.composite
def trades(draw: st.DrawFn, rising: bool = False) -> list[LedgerEntry]:
    """Buys and sells (never more than held), sometimes a split; dates move forward."""
    held = dict.fromkeys(SYMBOLS, D(0))
    price = dict.fromkeys(SYMBOLS, D(100))
    today = START
    out: list[LedgerEntry] = []
    for _ in range(draw(st.integers(1, 30))):
        today += timedelta(days=draw(st.sampled_from([0, 0, 1, 3, 10, 29, 31, 40])))
        symbol = draw(st.sampled_from(SYMBOLS))
        step = draw(st.integers(0 if rising else -15, 15))
        price[symbol] = max(D(1), price[symbol] + D(step) / 2)
        kind = draw(st.sampled_from(["buy", "buy", "sell", "split", "ira"] if not rising
                                    else ["buy", "sell"]))
        if kind == "ira":  # a linked IRA's purchase: no lot here, but it washes losses
            out.append(LinkedPurchase(today, symbol, D(draw(st.integers(1, 20)))))
            continue
        if kind == "split":
            out.append(Split(today, symbol, D(draw(st.sampled_from([2, 3])))))
            held[symbol] *= out[-1].ratio  # type: ignore[union-attr]
            price[symbol] = max(D(1), price[symbol] / out[-1].ratio)  # type: ignore[union-attr]
            continue
        if kind == "sell" and held[symbol] > 0:
            qty = min(held[symbol], D(draw(st.integers(1, 40))) / draw(st.sampled_from([1, 4])))
            held[symbol] -= qty
            out.append(Sold(today, symbol, qty, price[symbol]))
        else:
            qty = D(draw(st.integers(1, 40))) / draw(st.sampled_from([1, 4]))
            held[symbol] += qty
            out.append(Bought(today, symbol, qty, price[symbol]))
    return out


def implied_positions(entries: list[LedgerEntry]) -> dict[str, D]:
    pos: dict[str, D] = {}
    for e in entries:
        if isinstance(e, Bought):
            pos[e.symbol] = pos.get(e.symbol, D(0)) + e.qty
        elif isinstance(e, Sold):
            pos[e.symbol] = pos.get(e.symbol, D(0)) - e.qty
        elif isinstance(e, Split):
            pos[e.symbol] = pos.get(e.symbol, D(0)) * e.ratio
    return {s: q for s, q in sorted(pos.items()) if q}


@FAST
@given(trades(), st.sampled_from(AUTO_METHODS), st.booleans())
def test_lots_always_equal_the_position(
    entries: list[LedgerEntry], method: ReliefMethod, grouped: bool
) -> None:
    groups = {"VTI": "us", "ITOT": "us"} if grouped else None
    led = replay([], method, groups)
    for i, entry in enumerate(entries):
        led.apply(entry)
        assert led.positions() == implied_positions(entries[: i + 1])
    assert all(lot.qty > 0 for lot in led.lots())


@FAST
@given(trades(), st.sampled_from(AUTO_METHODS))
def test_basis_is_conserved(entries: list[LedgerEntry], method: ReliefMethod) -> None:
    led = replay(entries, method, {"VTI": "us", "ITOT": "us"})
    paid = sum((e.qty * e.price + e.fee for e in entries if isinstance(e, Bought)), D(0))
    moved = sum((d.adjustment - d.permanent_amount for d in led.disposals), D(0))
    open_basis = sum((lot.basis for lot in led.lots()), D(0))
    relieved = sum((d.basis for d in led.disposals), D(0))
    assert abs((paid + moved) - (open_basis + relieved)) < D("1e-12")
    # a disposal's gain is its raw gain plus what was disallowed, and never more than zero
    # is disallowed on a gain
    for d in led.disposals:
        assert 0 <= d.adjustment <= max(D(0), -d.raw_gain) + D("1e-12")


def reference_fifo(entries: list[LedgerEntry]) -> list[tuple[str, date, D, D, date, D]]:
    """A plain FIFO queue per symbol: (symbol, acquired, qty, basis, sold, proceeds) for
    each piece of each sale. Knows nothing of the ledger."""
    queues: dict[str, deque[list[object]]] = {}
    out = []
    for e in entries:
        if isinstance(e, Bought):
            queues.setdefault(e.symbol, deque()).append([e.day, e.qty, e.price])
        elif isinstance(e, Sold):
            left = e.qty
            q = queues[e.symbol]
            while left > 0:
                acquired, qty, price = q[0]
                take = min(qty, left)  # type: ignore[type-var]
                out.append((e.symbol, acquired, take, take * price, e.day, take * e.price))  # type: ignore[operator]
                left -= take  # type: ignore[operator]
                if take == qty:
                    q.popleft()
                else:
                    q[0][1] = qty - take  # type: ignore[operator]
    return out  # type: ignore[return-value]


@FAST
@given(trades(rising=True))
def test_fifo_matches_a_reference_fifo(entries: list[LedgerEntry]) -> None:
    led = replay(entries, ReliefMethod.FIFO)
    got = [(d.symbol, d.acquired, d.qty, d.basis, d.sold, d.proceeds) for d in led.disposals]
    assert got == reference_fifo(entries)


@FAST
@given(trades(), st.sampled_from(AUTO_METHODS))
def test_replay_is_deterministic(entries: list[LedgerEntry], method: ReliefMethod) -> None:
    a = replay(entries, method, {"VTI": "us", "ITOT": "us"})
    b = replay(list(entries), method, {"VTI": "us", "ITOT": "us"})
    assert a.lots() == b.lots()
    assert a.disposals == b.disposals
