"""What a backtest records: each row's figures (``RowRecord``), the run's outcome
(``BacktestRun``), and the helpers that lay the config and the cash flows out by row."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np

from adapters.backtest.fill_model import Costs
from adapters.backtest.prices import PriceSeries
from daemon.core import events as ev
from daemon.core.commands import Command
from daemon.core.config.tax import TaxConfig
from daemon.core.config.values import Config
from daemon.core.tax.lots import Disposal, Lot
from daemon.core.triggers.bands import asset_limits, cash_limits


@dataclass(slots=True)
class RowRecord:
    """What the feeder saw on each row (arrays, index-aligned with the rows)."""

    value_before: np.ndarray  # at the close, after the row's cash flow, before trading
    value_after: np.ndarray  # after the row's trading
    flows: np.ndarray  # cash flow on the row (dollars)
    max_drift: np.ndarray  # max |weight − target| before trading (cash included)
    outside: np.ndarray  # any weight outside its band before trading
    weights_after: np.ndarray  # rows × (symbols + cash), after trading
    traded: np.ndarray  # traded notional on the row (buys + sells)
    dividends: np.ndarray | None = None  # dividend cash credited on the row (dollars)

    @classmethod
    def zeros(cls, n_rows: int, n: int, *, dividends: bool) -> RowRecord:
        """Records of ``n_rows`` rows of ``n`` symbols, all zero."""
        z = np.zeros
        return cls(z(n_rows), z(n_rows), z(n_rows), z(n_rows), z(n_rows, dtype=bool),
                   z((n_rows, n + 1)), z(n_rows), z(n_rows) if dividends else None)  # fmt: skip


@dataclass(slots=True)
class BacktestRun:
    series: PriceSeries
    records: RowRecord
    costs: Costs
    rebalances: int
    decisions: int
    trades: int  # fills
    orders: int
    alerts: list[str]
    ignored_flows: list[tuple[date, Decimal]]
    events: list[ev.Event] = field(default_factory=list)  # with record=True
    commands: list[Command] = field(default_factory=list)
    final_cash: Decimal = Decimal(0)
    final_positions: dict[str, Decimal] = field(default_factory=dict)
    rebalance_rows: list[int] = field(default_factory=list)  # rows where a run started
    disposals: list[Disposal] = field(default_factory=list)  # the engine's lots sold
    tax: TaxConfig = field(default_factory=TaxConfig)  # the config's [tax], for the figures
    open_lots: list[Lot] = field(default_factory=list)  # the engine's lots at the end
    rows_fed: int = 0  # rows handed to the engine (the others were quiet: quiet_rows)


def target_arrays(
    config: Config, syms: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(target, band low, band high) per symbol column and cash (last), for the records."""
    n = len(syms)
    lows, highs, tgt = np.zeros(n + 1), np.ones(n + 1), np.zeros(n + 1)
    for a in config.portfolio.assets:
        j = syms.index(a.symbol)
        lows[j], highs[j] = asset_limits(a)
        tgt[j] = a.target
    lows[n], highs[n] = cash_limits(config)
    tgt[n] = config.portfolio.cash_target
    return tgt, lows, highs


def flows_by_row(
    dates: tuple[date, ...], flows: Sequence[tuple[date, Decimal]]
) -> tuple[dict[int, Decimal], list[tuple[date, Decimal]]]:
    """Each flow on its row: the first row on or after its date; after the last: ignored."""
    out: dict[int, Decimal] = {}
    ignored: list[tuple[date, Decimal]] = []
    for d, amount in flows:
        k = bisect.bisect_left(dates, d)
        if k >= len(dates):
            ignored.append((d, amount))
            continue
        if k == 0 and d < dates[0]:
            ignored.append((d, amount))
            continue
        out[k] = out.get(k, Decimal(0)) + amount
    return out, ignored


__all__ = ["BacktestRun", "RowRecord", "flows_by_row", "target_arrays"]
