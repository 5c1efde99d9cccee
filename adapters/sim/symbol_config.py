"""One tradable symbol of the paper exchange and its price model (a module of its own so
that ``prices`` and ``sim_config`` both import it and neither imports the other)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SymbolConfig"]


@dataclass(frozen=True, slots=True)
class SymbolConfig:
    """One tradable symbol and its price model."""

    symbol: str
    price: float = 100.0  # start price (mid)
    drift: float = 0.0  # annualised GBM drift (0.07 = 7 %/year)
    volatility: float = 0.2  # annualised GBM volatility
    spread_bps: float = 2.0  # full bid/ask spread in basis points of the mid
    quote_rate: float = 1.0  # quotes per second of trading time
    adv: float = 1_000_000.0  # average daily volume, shares
    correlation: float = 0.0  # of daily history returns with one market factor (-1..1)
    fractionable: bool = True
    tradable: bool = True
    exchange: str = "NYSE"
    csv: str | None = None  # replay this CSV of bars or quotes instead of GBM
