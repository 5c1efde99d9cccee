"""The cost model (commission, half-spread, impact) and the risk benefit."""

import math
from datetime import UTC, datetime
from decimal import Decimal as D

from daemon.core.config import AssetConfig, Config, CostConfig, PortfolioConfig
from daemon.core.costs import adv_for, half_spread, order_cost, sigma_for
from daemon.core.model import Quote, Side

NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def cfg(**cost: object) -> Config:
    assets = (AssetConfig("VTI", 0.6, sigma=0.02, adv=2_000_000), AssetConfig("BND", 0.4))
    return Config(PortfolioConfig(assets=assets), cost=CostConfig(**cost))  # type: ignore[arg-type]


def q(bid: float, ask: float, **kw: float) -> Quote:
    return Quote("VTI", bid, ask, NOW, **kw)


def test_half_spread_from_the_quote_else_the_default() -> None:
    c = cfg(default_half_spread_bps=7.0)
    assert math.isclose(half_spread(c, q(99.0, 101.0)), 0.01)
    assert half_spread(c, None) == 0.0007
    assert half_spread(c, q(0.0, 101.0)) == 0.0007
    assert half_spread(c, q(102.0, 101.0)) == 0.0007  # crossed


def test_commissions_and_half_spread() -> None:
    c = cfg(commission_per_order=D("1.00"), commission_bps=10.0)
    # notional 100 × 100 = 10,000: $1 + 10 bp ($10) + half-spread 0.5 % ($50); no ADV → no impact
    cost = order_cost(c, "BND", Side.BUY, D(100), D(100), q(99.5, 100.5))
    assert cost == D("61.00")


def test_impact_uses_sigma_and_adv_in_order_of_precedence() -> None:
    c = cfg(impact_coefficient=0.5)
    locked = q(100.0, 100.0)  # no spread: cost is the impact term alone
    # asset VTI: σ 0.02, ADV 2e6 → 0.5·0.02·√(20000/2e6)·2e6 = 2000
    assert order_cost(c, "VTI", Side.SELL, D(20000), D(100), locked) == D("2000.00")
    # the quote's own σ and ADV win
    quoted = q(100.0, 100.0, sigma=0.01, adv=20000.0)
    assert order_cost(c, "VTI", Side.SELL, D(20000), D(100), quoted) == D("10000.00")
    assert sigma_for(c, "BND") == c.cost.default_sigma
    assert adv_for(c, "BND") is None
    assert adv_for(cfg(default_adv=1e6), "BND") == 1e6


def test_cost_rounds_up_to_the_cent() -> None:
    c = cfg(default_half_spread_bps=1.0)
    assert order_cost(c, "BND", Side.BUY, D(1), D("10.01"), None) == D("0.01")
    assert order_cost(c, "BND", Side.BUY, D(0), D("10"), None) == D(0)
