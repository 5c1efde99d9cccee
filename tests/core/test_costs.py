"""The cost model (commission, half-spread, impact) and the risk benefit."""

import math
from datetime import UTC, datetime
from decimal import ROUND_CEILING
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.config.values import AssetConfig, Config, CostConfig, PortfolioConfig
from daemon.core.model import Quote, Side
from daemon.core.planning.costs import (
    adv_for,
    cost_exact,
    cost_float,
    half_spread,
    order_cost,
    sigma_for,
    to_cents_up,
)

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


# the float evaluation against the Decimal one: each term is a few float operations on
# positive numbers, each good to 2**-53, so the sum is good to ~1e-15 relative; 1e-13 leaves
# a margin of a hundred and still says a cent at most on a $100 billion order
TOLERANCE = 1e-13


def _rate(high: float) -> st.SearchStrategy[float]:
    """0, or a rate in the range a config holds (no subnormal floats: they carry no
    relative precision, and no config or market figure is 1e-310)."""
    return st.one_of(st.just(0.0), st.floats(1e-9, high))


@st.composite
def priced_orders(draw: st.DrawFn) -> tuple[Config, float, float, Quote | None, float, float | None]:
    cost = CostConfig(
        commission_per_order=draw(st.sampled_from([D(0), D("0.35"), D("1.99"), D(5)])),
        commission_bps=draw(_rate(100.0)),
        impact_coefficient=draw(_rate(2.0)),
        default_half_spread_bps=draw(_rate(100.0)),
    )
    config = Config(PortfolioConfig(assets=(AssetConfig("VTI", 1.0),)), cost=cost)
    shares = draw(st.floats(1e-9, 1e8))
    price = draw(st.floats(0.0001, 1e5))
    quote = None
    if draw(st.booleans()):
        bid = draw(_rate(1e5))
        ask = draw(st.one_of(st.floats(bid, bid * 1.05 + 0.01), _rate(1e5)))
        quote = q(bid, ask)  # crossed or zero-bid quotes fall back to the default spread
    sigma = draw(_rate(0.2))
    adv = draw(st.one_of(st.none(), st.floats(1.0, 1e10)))
    return config, shares, price, quote, sigma, adv


@settings(max_examples=400, deadline=None)
@given(priced_orders())
def test_the_float_cost_is_the_decimal_formula_within_tolerance(
    order: tuple[Config, float, float, Quote | None, float, float | None],
) -> None:
    """``cost_float`` (``cost_dollars``, the one float evaluation every caller uses) against
    ``cost_exact``, the same formula in 40-digit Decimal; and the float rounded up to the
    cent (``order_cost``'s figure) against the exact cost rounded up: the same cent unless
    the exact cost lies within the tolerance of a cent boundary."""
    config, shares, price, quote, sigma, adv = order
    exact = cost_exact(config, D(shares), D(price), quote, sigma, adv)
    got = cost_float(config, shares, price, quote, sigma, adv)
    assert abs(D(got) - exact) <= D(TOLERANCE) * exact, (got, exact)
    cents = to_cents_up(got)  # what order_cost returns for these parameters
    if cents != exact.quantize(D("0.01"), rounding=ROUND_CEILING):  # a cent boundary between
        assert abs(exact - exact.quantize(D("0.01"))) <= D(TOLERANCE) * exact


def test_the_decimal_reference_reproduces_a_hand_computed_cost() -> None:
    """$1 + 10 bp of $10,000 + half-spread 0.5 % + 0.5 · 1/32 · √(100/10,000) · $10,000
    (σ = 1/32: a float that is exactly its decimal)."""
    c = cfg(commission_per_order=D("1.00"), commission_bps=10.0, impact_coefficient=0.5)
    exact = cost_exact(c, D(100), D(100), q(99.5, 100.5), 1 / 32, 10_000.0)
    assert exact == D(1) + D(10) + D(50) + D("15.625")
    assert order_cost(c, "BND", Side.BUY, D(100), D(100), q(99.5, 100.5, sigma=1 / 32, adv=1e4)) == D("76.63")
