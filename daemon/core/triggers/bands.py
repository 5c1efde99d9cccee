"""Tolerance bands: absolute (weight points), relative (fraction of target), or whichever is
breached first. The 5/25 rule is ``Band(absolute=0.05, relative=0.25, rule=EITHER)``."""

from __future__ import annotations

from daemon.core.config.values import AssetConfig, Band, BandRule, Config


def half_width(target: float, band: Band) -> float:
    """The band's half-width around ``target`` as a weight fraction.

    A relative band around a zero target has no width at all, so there the absolute width
    applies (under "either" and "relative" alike): otherwise a zero cash target would make
    every leftover cent "out of band" and re-trigger a rebalance after each cooldown."""
    absolute = band.absolute
    relative = None if band.relative is None or target <= 0 else band.relative * target
    if target <= 0 and band.rule is not BandRule.ABSOLUTE and band.relative is not None:
        return absolute if absolute is not None else 0.0  # relative-only: a zero-width band
    if band.rule is BandRule.ABSOLUTE:
        if absolute is None:
            raise ValueError("absolute band rule without an absolute width")
        return absolute
    if band.rule is BandRule.RELATIVE:
        if relative is None:
            raise ValueError("relative band rule without a relative width")
        return relative
    widths = [w for w in (absolute, relative) if w is not None]
    if not widths:
        raise ValueError("band has neither an absolute nor a relative width")
    return min(widths)


def band_limits(target: float, band: Band) -> tuple[float, float]:
    """(low, high) weight limits, clamped to [0, 1]."""
    w = half_width(target, band)
    return max(0.0, target - w), min(1.0, target + w)


def asset_limits(asset: AssetConfig) -> tuple[float, float]:
    """An asset's band; a target of 0 ("hold none: sell what is held") has none: (0, 0),
    so any holding of it is out of band and sold."""
    if asset.target <= 0:
        return 0.0, 0.0
    return band_limits(asset.target, asset.band)


def cash_limits(config: Config) -> tuple[float, float]:
    return band_limits(config.portfolio.cash_target, config.portfolio.cash_band)
