"""Dividends of price-only series (``SYMBOL:dividend``, per share on its ex-date row): the
cash credited equals the shares held at the previous close times the dividend (to the cent),
worked by hand; the cash is reinvested by the rules, as live; bad cells exit 65 naming the
column."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from adapters.backtest.feeder import Feeder
from adapters.backtest.prices import load_prices
from daemon.cli_backtest import main
from daemon.config_file import load_config

WHOLE_SHARES = """
[portfolio]
cash_target = 0
[portfolio.targets]
A = 50
B = 50
[assets.A]
fractional = false
[assets.B]
fractional = false
[trigger]
mode = "threshold"
[cost]
gate = false
default_half_spread_bps = 0
min_trade_dollars = 0
[planner]
limit_offset_bps = 0
market_orders = true
min_order_notional = 0
"""

# A pays $1.00 on the first row (nothing is held yet: nothing paid), $0.37 on the third;
# B pays $0.123 on the fourth (250 × 0.123 = 30.75); an empty cell is no dividend
PRICES = """date,A,B,A:dividend,B:dividend
2024-01-02,50,20,1.00,
2024-01-03,51,20.5,,
2024-01-04,50.2,20.1,0.37,0
2024-01-05,50.5,20.4,,0.123
2024-01-08,50.1,20.6,,
"""


def write(tmp: Path, config: str, prices: str) -> tuple[Path, Path]:
    c, p = tmp / "c.toml", tmp / "p.csv"
    c.write_text(config)
    p.write_text(prices)
    return c, p


def test_credited_amounts_match_the_hand_computation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, prices = write(tmp_path, WHOLE_SHARES, PRICES)
    assert main(["--config", str(cfg), "--prices", str(prices), "--initial-value", "10000",
                 "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    # by hand: $10,000 at 50/50 buys 5000/50 = 100 A and 5000/20 = 250 B on the first row
    # (no spread, no commission); A's row-1 dividend finds nothing held; then
    # 100 × 0.37 = 37.00 and 250 × 0.123 = 30.75, kept as cash (both inside the bands)
    assert out["dividends"] == 67.75
    assert out["rebalances"] == 1 and out["trades"] == 2
    assert out["final_value"] == 100 * 50.1 + 250 * 20.6 + 67.75

    run = Feeder(load_config(cfg), load_prices(prices, ("A", "B")), Decimal(10000)).run()
    assert run.final_positions == {"A": Decimal(100), "B": Decimal(250)}
    assert run.final_cash == Decimal("67.75")
    assert run.records.dividends is not None
    assert list(run.records.dividends) == [0.0, 0.0, 37.0, 30.75, 0.0]
    # the ex-date row's value holds the dividend: price-only close + cash = total return
    assert run.records.value_before[2] == 100 * 50.2 + 250 * 20.1 + 37.0


def test_a_dividend_is_reinvested_by_the_rules(tmp_path: Path) -> None:
    """Fractional shares and a 1 % cash band: a 5 % dividend puts cash out of its band and
    the threshold trigger buys on the ex-date row, as a live account's credited cash would."""
    config = WHOLE_SHARES.replace("fractional = false", "fractional = true") + (
        "[portfolio.cash_band]\nabsolute = 1\n"
    )
    prices = (
        "date,A,B,A:dividend\n2024-01-02,50,20,\n2024-01-03,50,20,\n"
        "2024-01-04,50,20,5\n2024-01-05,50,20,\n"
    )
    cfg, p = write(tmp_path, config, prices)
    series = load_prices(p, ("A", "B"))
    run = Feeder(load_config(cfg), series, Decimal(10000)).run()
    qty_a = Decimal(5000) / Decimal(50)  # 100 A held at the ex-date's previous close
    paid = (qty_a * Decimal(5)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert run.records.dividends is not None and run.records.dividends[2] == float(paid)
    assert run.rebalance_rows == [0, 2]  # the initial investment, then the dividend's cash
    assert run.records.value_after[3] == pytest.approx(10000 + float(paid), abs=0.02)
    cash_weight = run.records.weights_after[2][-1]
    assert cash_weight < 0.01  # back inside the band
    assert run.final_positions["A"] > qty_a and run.final_positions["B"] > Decimal(250)


@pytest.mark.parametrize(
    ("cell", "needle"),
    [("-0.5", "negative"), ("abc", "is not a number"), ("nan", "not a finite number")],
)
def test_a_bad_dividend_cell_exits_65_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cell: str, needle: str
) -> None:
    cfg, p = write(tmp_path, WHOLE_SHARES, PRICES.replace("0.37", cell))
    assert main(["--config", str(cfg), "--prices", str(p), "--json"]) == 65
    out = capsys.readouterr()
    assert out.out == ""
    assert f"{p}, row 4, column 'A:dividend'" in out.err and needle in out.err


def test_a_misspelt_field_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, p = write(tmp_path, WHOLE_SHARES, PRICES.replace("B:dividend", "B:dividends"))
    assert main(["--config", str(cfg), "--prices", str(p)]) == 65
    err = capsys.readouterr().err
    assert "column 'B:dividends'" in err and "B:dividend" in err and "unknown field" in err
