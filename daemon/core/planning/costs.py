"""The cost model: what an order costs. (What a rebalance is worth is ``benefit``.)

Cost of one order, in dollars, for ``Q`` shares at price ``P`` (notional ``N = Q·P``)::

    cost = commission_per_order                       # $ per order
         + commission_bps / 10 000 · N                # bp of notional
         + half_spread · N                            # fraction of mid
         + Y · σ · √(Q / ADV) · N                     # square-root market impact

- ``half_spread = (ask − bid) / 2 / mid`` from the order's quote; when the quote has no usable
  spread (missing, a side ≤ 0, crossed) ``cost.default_half_spread_bps`` (default 5 bp).
- ``Y`` is ``cost.impact_coefficient`` (default 0.5).
- ``σ`` is the **daily** return volatility (a fraction: 0.012 = 1.2 %/day), first found of
  ``quote.sigma``, the asset's ``sigma`` in the config, ``cost.default_sigma`` (default 0.015).
- ``ADV`` is the average daily volume in **shares**, first found of ``quote.adv``, the asset's
  ``adv``, ``cost.default_adv`` (default None). With no ADV the impact term is 0.

The result is rounded **up** to the cent: costs are never underestimated.

One float evaluation, ``cost_dollars``, serves every float caller (``cost_float``,
``order_cost``, the planner's sizing and orders); ``cost_dollars_array`` is the same
evaluation over numpy arrays (the planner's sizing passes), the same IEEE operations in the
same order, so bit for bit the same figures (``tests/core/test_planner_numpy.py``);
``cost_exact`` is the formula in ``Decimal``, the reference both are tested against.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Final

import numpy as np

from daemon.core.config.values import AssetConfig, Config
from daemon.core.model import Quote, Side
from daemon.core.planning.arrays import Floats
from daemon.core.planning.exact_ticks import ceil_ticks

CENT = Decimal("0.01")


class _Lookup:
    """Sentinel: look the asset up in the config (a linear scan; the planner passes it in)."""


LOOKUP: Final = _Lookup()


def _asset(config: Config, symbol: str, asset: AssetConfig | _Lookup | None) -> AssetConfig | None:
    return config.asset(symbol) if isinstance(asset, _Lookup) else asset


def sigma_for(
    config: Config,
    symbol: str,
    quote: Quote | None = None,
    asset: AssetConfig | _Lookup | None = LOOKUP,
) -> float:
    """Daily volatility: the quote's, else the asset's, else ``cost.default_sigma``."""
    if quote is not None and quote.sigma is not None and quote.sigma >= 0:
        return quote.sigma
    a = _asset(config, symbol, asset)
    if a is not None and a.sigma is not None:
        return a.sigma
    return config.cost.default_sigma


def adv_for(
    config: Config,
    symbol: str,
    quote: Quote | None = None,
    asset: AssetConfig | _Lookup | None = LOOKUP,
) -> float | None:
    """Average daily volume (shares): the quote's, else the asset's, else the default."""
    if quote is not None and quote.adv is not None and quote.adv > 0:
        return quote.adv
    a = _asset(config, symbol, asset)
    if a is not None and a.adv is not None and a.adv > 0:
        return a.adv
    adv = config.cost.default_adv
    return adv if adv is not None and adv > 0 else None


def half_spread(config: Config, quote: Quote | None) -> float:
    """Half the quoted spread as a fraction of the mid, or the configured default."""
    if quote is not None and quote.bid > 0 and quote.ask >= quote.bid:
        mid = (quote.bid + quote.ask) / 2.0
        return (quote.ask - quote.bid) / 2.0 / mid
    return config.cost.default_half_spread_bps / 10_000.0


def cost_dollars(
    shares: float,
    price: float,
    commission: float,
    bps: float,
    half_spread: float,
    impact: float,
    sigma: float,
    adv: float | None,
) -> float:
    """The cost formula in floats, from its parameters: ``commission`` dollars per order,
    ``bps`` as a fraction (commission_bps / 10 000), ``half_spread`` a fraction of the mid,
    ``impact`` the coefficient ``Y``. The one float evaluation: ``cost_float``, ``order_cost``
    and the planner (``planner_market``, ``planner_orders``) all call it, so a plan's
    estimated costs are bit for bit those of ``order_cost``. Within 1e-13 (relative) of
    ``cost_exact`` (``tests/core/test_costs.py``)."""
    if shares <= 0 or price <= 0:
        return 0.0
    notional = shares * price
    cost = commission + bps * notional
    cost += half_spread * notional
    if adv is not None and adv > 0:
        cost += impact * sigma * math.sqrt(shares / adv) * notional
    return cost


def cost_dollars_array(
    shares: Floats,
    price: Floats,
    commission: float,
    bps: float,
    half_spread: Floats,
    impact: float,
    sigma: Floats,
    adv: Floats,
) -> Floats:
    """``cost_dollars`` element by element (``adv`` NaN where there is none): the same
    operations in the same order (numpy's float64 ufuncs round as Python's floats do, and
    ``np.sqrt`` is correctly rounded like ``math.sqrt``), so each element equals the scalar
    evaluation exactly."""
    notional = shares * price
    cost = commission + bps * notional
    cost = cost + half_spread * notional
    has_adv = adv > 0  # False for NaN
    safe_adv = np.where(has_adv, adv, 1.0)
    with np.errstate(invalid="ignore"):
        impacted = cost + impact * sigma * np.sqrt(shares / safe_adv) * notional
    cost = np.where(has_adv, impacted, cost)
    return np.where((shares > 0) & (price > 0), cost, 0.0)


def cost_float(
    config: Config,
    shares: float,
    price: float,
    quote: Quote | None,
    sigma: float,
    adv: float | None,
) -> float:
    """The cost formula in floats (``cost_dollars`` with the config's parameters)."""
    c = config.cost
    return cost_dollars(
        shares,
        price,
        float(c.commission_per_order),
        c.commission_bps / 10_000.0,
        half_spread(config, quote),
        c.impact_coefficient,
        sigma,
        adv,
    )


def cost_exact(
    config: Config,
    shares: Decimal,
    price: Decimal,
    quote: Quote | None,
    sigma: float,
    adv: float | None,
) -> Decimal:
    """The cost formula in ``Decimal`` arithmetic (40 digits), unrounded: the reference the
    float evaluation is checked against. Float parameters are taken at their exact value."""
    if shares <= 0 or price <= 0:
        return Decimal(0)
    c = config.cost
    with localcontext() as ctx:
        ctx.prec = 40
        notional = shares * price
        cost = c.commission_per_order + Decimal(c.commission_bps) / 10_000 * notional
        if quote is not None and quote.bid > 0 and quote.ask >= quote.bid:
            bid, ask = Decimal(quote.bid), Decimal(quote.ask)
            spread = (ask - bid) / 2 / ((bid + ask) / 2)
        else:
            spread = Decimal(c.default_half_spread_bps) / 10_000
        cost += spread * notional
        if adv is not None and adv > 0:
            root = (shares / Decimal(adv)).sqrt()
            cost += Decimal(c.impact_coefficient) * Decimal(sigma) * root * notional
        return +cost


def to_cents_up(x: float) -> Decimal:
    """Dollars as a Decimal rounded up to the cent (of the float's shortest repr)."""
    if x > 0.0:
        k = ceil_ticks(x, 100)
        if k is not None:
            return Decimal(k).scaleb(-2)
    return Decimal(repr(x)).quantize(CENT, rounding=ROUND_CEILING)


def order_cost(
    config: Config,
    symbol: str,
    side: Side,
    shares: Decimal,
    price: Decimal,
    quote: Quote | None,
    asset: AssetConfig | _Lookup | None = LOOKUP,
) -> Decimal:
    """Estimated cost of one order in dollars (rounded up to the cent).

    ``side`` is accepted for symmetry and future asymmetric fees (e.g. SEC fees on sells);
    the model today charges both sides alike. ``asset`` saves the config lookup.
    """
    del side
    a = _asset(config, symbol, asset)
    cost = cost_float(
        config,
        float(shares),
        float(price),
        quote,
        sigma_for(config, symbol, quote, a),
        adv_for(config, symbol, quote, a),
    )
    return to_cents_up(cost)
