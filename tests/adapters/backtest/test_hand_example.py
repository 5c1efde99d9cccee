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
        (c.side.value, c.symbol, c.qty, c.limit_price)
        for c in run.commands
        if isinstance(c, PlaceOrder)
    ]
    assert orders == [
        ("buy", "A", Decimal(49), Decimal("100.10")),  # row 1, the initial allocation
        ("buy", "B", Decimal(99), Decimal("50.05")),
        ("sell", "A", Decimal(1), Decimal("109.89")),  # row 2, round 1
        ("buy", "B", Decimal(2), Decimal("50.05")),
        ("buy", "B", Decimal(2), Decimal("50.05")),  # row 2, round 2
        ("sell", "B", Decimal(7), Decimal("54.94")),  # row 3, round 1
        ("buy", "A", Decimal(4), Decimal("99.10")),  # row 3, round 2
    ]
    fills = [(e.qty, e.price) for e in run.events if isinstance(e, ev.OrderFilled)]
    assert fills == [
        (Decimal(49), Decimal("100.100000")),
        (Decimal(99), Decimal("50.050000")),
        (Decimal(1), Decimal("109.890000")),
        (Decimal(2), Decimal("50.050000")),
        (Decimal(2), Decimal("50.050000")),
        (Decimal(7), Decimal("54.945000")),
        (Decimal(4), Decimal("99.099000")),
    ]
    decisions = [c.plan for c in run.commands if isinstance(c, RecordDecision)]
    assert [d.portfolio_value for d in decisions] == [
        Decimal("10000.00"),
        Decimal("10478.15"),
        Decimal("10477.94"),
        Decimal("10461.84"),
        Decimal("10461.46"),
    ]
    assert run.final_cash == Decimal("31.059")
    assert run.final_positions == {"A": Decimal(52), "B": Decimal(96)}
    rec = run.records
    assert list(rec.value_before) == [10_000.0, 10_478.15, 10_461.84]
    assert [round(v, 6) for v in rec.value_after] == [9_988.15, 10_474.84, 10_459.059]
    assert round(run.costs.spread, 6) == 10.941 and run.costs.commission == 7.0
    assert run.costs.impact == 0.0
    out = summary(run, 10_000.0)
    assert out["rebalances"] == 3 and out["trades"] == 7
    assert out["final_value"] == 10_459.06
    assert (
        out["average_weights"]["CASH"]
        == round((138.15 / 9_988.15 + 44.84 / 10_474.84 + 31.059 / 10_459.059) / 3, 10)
        or abs(
            out["average_weights"]["CASH"]
            - (138.15 / 9_988.15 + 44.84 / 10_474.84 + 31.059 / 10_459.059) / 3
        )
        < 1e-10
    )
