"""The two-asset, three-row example of docs/backtest.md, every number checked by hand there
(and here). If the engine's decisions change, this test says which number moved."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from adapters.backtest.feeder import Feeder
from adapters.backtest.metrics import summary
from adapters.backtest.prices import load_prices
from daemon.config_file import load_config
from daemon.core import events as ev
from daemon.core.commands import PlaceOrder, RecordDecision

DATA = Path(__file__).parent / "data"


def test_the_documented_example_number_by_number() -> None:
    config = load_config(DATA / "hand.toml")
    series = load_prices(DATA / "hand.csv", config.symbols)
    run = Feeder(config, series, Decimal(10_000), spread_bps=20, record=True).run()

    orders = [
        (c.side.value, c.symbol, c.qty, c.limit_price, c.est_cost)
        for c in run.commands
        if isinstance(c, PlaceOrder)
    ]
    assert orders == [
        # row 1, the initial allocation: 49.89 A and 99.78 B to the nearest, A back down
        ("buy", "A", Decimal(49), Decimal("100.10"), Decimal("5.91")),
        ("buy", "B", Decimal(100), Decimal("50.05"), Decimal("6.01")),
        ("sell", "A", Decimal(1), Decimal("109.89"), Decimal("1.11")),  # row 2, round 1
        ("buy", "B", Decimal(1), Decimal("50.05"), Decimal("1.06")),
        ("buy", "B", Decimal(2), Decimal("50.05"), Decimal("1.11")),  # row 2, round 2
        ("sell", "B", Decimal(8), Decimal("54.94"), Decimal("1.44")),  # row 3, round 1
        ("buy", "A", Decimal(4), Decimal("99.10"), Decimal("1.40")),  # row 3, round 2
    ]
    fills = [(e.qty, e.price) for e in run.events if isinstance(e, ev.OrderFilled)]
    assert fills == [
        (Decimal(49), Decimal("100.100000")),
        (Decimal(100), Decimal("50.050000")),
        (Decimal(1), Decimal("109.890000")),
        (Decimal(1), Decimal("50.050000")),
        (Decimal(2), Decimal("50.050000")),
        (Decimal(8), Decimal("54.945000")),
        (Decimal(4), Decimal("99.099000")),
    ]
    decisions = [c.plan for c in run.commands if isinstance(c, RecordDecision)]
    assert [(d.portfolio_value, d.est_cost, d.est_benefit) for d in decisions] == [
        (Decimal("10000.00"), Decimal("11.92"), Decimal("779.53")),
        (Decimal("10478.10"), Decimal("2.27"), Decimal("2.50")),
        (Decimal("10477.94"), Decimal("1.11"), Decimal("5.21")),
        (Decimal("10461.84"), Decimal("2.84"), Decimal("0.21")),
        (Decimal("10461.40"), Decimal("1.40"), Decimal("21.09")),
    ]
    # the benefit's parts as the decision prints them (to the nearest cent; the record's
    # benefit_risk and benefit_cash fields are rounded down: $2.12 for the $2.1259 below)
    printed = [(" ".join(d.reasons)) for d in decisions]
    for text, parts in zip(
        printed,
        [
            "(risk $283.45, cash $496.08)",
            "(risk $0.38, cash $2.13)",
            "(risk $0.15, cash $5.06)",
            "(risk $2.23, cash −$2.02)",
            "(risk $1.21, cash $19.89)",
        ],
        strict=True,
    ):
        assert parts in text, text
    assert [d.benefit_cash for d in decisions][1] == Decimal("2.12")
    assert run.final_cash == Decimal("86.004")
    assert run.final_positions == {"A": Decimal(52), "B": Decimal(95)}
    # the cash by bookkeeping, independently of the ledger: the fills and $1 per order
    signed = [
        (-1 if c.side.value == "buy" else 1) * f[0] * f[1]
        for c, f in zip((c for c in run.commands if isinstance(c, PlaceOrder)), fills, strict=True)
    ]
    assert Decimal(10_000) + sum(signed) - 7 == run.final_cash
    rec = run.records
    assert list(rec.value_before) == [10_000.0, 10_478.10, 10_461.84]
    assert [round(v, 6) for v in rec.value_after] == [9_988.10, 10_474.84, 10_459.004]
    assert round(run.costs.spread, 6) == 10.996 and run.costs.commission == 7.0
    assert run.costs.impact == 0.0
    out = summary(run, 10_000.0)
    assert out["rebalances"] == 3 and out["trades"] == 7
    assert out["final_value"] == 10_459.00
    cash_weight = (88.10 / 9_988.10 + 44.84 / 10_474.84 + 86.004 / 10_459.004) / 3
    assert abs(out["average_weights"]["CASH"] - cash_weight) < 1e-10
    assert round(cash_weight, 5) == 0.00711
