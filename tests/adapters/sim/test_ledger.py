from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.sim.ledger import Holding, Ledger, buy_hold, dstr, sell_hold

D = Decimal


def test_buys_average_sells_keep_the_average() -> None:
    led = Ledger(D("10000"))
    assert led.apply_fill("SPY", "buy", D("10"), D("100")) == D("10")
    assert led.apply_fill("SPY", "buy", D("30"), D("120")) == D("40")
    assert led.positions["SPY"].avg_entry_price == D("115")
    assert led.apply_fill("SPY", "sell", D("15"), D("130")) == D("25")
    assert led.positions["SPY"] == Holding(D("25"), D("115"))
    assert led.cash == D("10000") - 1000 - 3600 + 1950
    assert led.apply_fill("SPY", "sell", D("25"), D("90")) == 0
    assert "SPY" not in led.positions


def test_dividend_credits_cash_and_is_recorded() -> None:
    led = Ledger(D("0"), {"AGG": Holding(D("12.5"), D("98"))})
    assert led.dividend("AGG", D("0.31"), "2026-11-23T15:00:00.000000Z") == D("3.875")
    assert led.cash == D("3.875")
    assert led.cash_events[0].to_json()["amount"] == "3.875"
    assert led.dividend("SPY", D("1"), "t") == 0  # flat: nothing


def test_split_keeps_cost_basis() -> None:
    led = Ledger(D("0"), {"SPY": Holding(D("7"), D("301.5"))})
    led.split("SPY", D("3"))
    h = led.positions["SPY"]
    assert h.qty == D("21") and h.avg_entry_price == D("100.5")
    assert h.qty * h.avg_entry_price == D("7") * D("301.5")


def test_holds() -> None:
    assert buy_hold(D("10"), None, D("4"), D("400"), D("101"), D("100")) == D("606")
    assert buy_hold(D("10"), None, D("0"), D("0"), None, D("100.5")) == D("1005")
    assert buy_hold(None, D("250"), D("1"), D("100"), None, D("100")) == D("150")
    assert sell_hold(D("10"), D("3")) == D("7")
    assert sell_hold(None, D("0.5"), D("2")) == D("1.5")


def test_state_round_trip() -> None:
    led = Ledger(D("5"), {"SPY": Holding(D("1.5"), D("600.123456789"))})
    led.dividend("SPY", D("2"), "t")
    again = Ledger.from_state(led.state())
    assert again.state() == led.state()


def test_dstr_has_no_exponent() -> None:
    assert dstr(D("100.000")) == "100"
    assert dstr(D("1E+2")) == "100"
    assert dstr(D("0.000000001")) == "0.000000001"
    assert dstr(D("0")) == "0"


fills = st.lists(
    st.tuples(
        st.sampled_from(["A", "B"]),
        st.booleans(),
        st.decimals(min_value=D("0.000000001"), max_value=D("500"), places=9),
        st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(fills)
def test_every_execution_keeps_equity_at_the_fill_price(
    seq: list[tuple[str, bool, Decimal, Decimal]],
) -> None:
    """cash + Σ qty × fill price is unchanged by an execution (paper: no costs); long only."""
    led = Ledger(D("100000"))
    for sym, buy, qty, price in seq:
        if not buy:
            qty = min(qty, led.qty(sym))
            if qty <= 0:
                continue
        before = {s: h.qty for s, h in led.positions.items()}
        cash_before = led.cash
        after = led.apply_fill(sym, "buy" if buy else "sell", qty, price)
        assert after == led.qty(sym) >= 0
        assert led.cash + after * price == cash_before + before.get(sym, D(0)) * price
        others = {s: h.qty for s, h in led.positions.items() if s != sym}
        assert others == {s: q for s, q in before.items() if s != sym}
        h = led.positions.get(sym)
        if h is not None:
            assert h.avg_entry_price > 0
