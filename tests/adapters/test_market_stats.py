"""The market-stats estimator against an independent evaluation on known data: ADV and σ
straight from numpy, the covariance from a numpy transcription of Ledoit & Wolf (2004)'s
shrinkage formula (not scikit-learn's code path), and what happens to short or bad history.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from adapters.market_stats import estimate
from adapters.ports import DailyBar
from daemon.core.events import CovarianceEstimated, MarketStatsUpdated

AT = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
DAY0 = date(2025, 1, 2)


def days(n: int) -> list[date]:
    """``n`` weekdays from DAY0 (holidays do not matter to the estimator)."""
    out, d = [], DAY0
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def known_market(n: int = 320, seed: int = 3) -> tuple[dict[str, list[DailyBar]], np.ndarray]:
    """Three correlated symbols: returns r ~ N(0, C), closes = 100·Π(1+r), volumes known."""
    rng = np.random.default_rng(seed)
    c = np.array([[1.0e-4, 6.0e-5, 1.0e-5], [6.0e-5, 2.25e-4, -2.0e-5], [1.0e-5, -2.0e-5, 4e-5]])
    r = rng.multivariate_normal(np.zeros(3), c, size=n - 1)
    closes = 100.0 * np.vstack([np.ones(3), np.cumprod(1.0 + r, axis=0)])
    volumes = rng.integers(100_000, 2_000_000, size=(n, 3)).astype(float)
    ds = days(n)
    bars = {
        sym: [DailyBar(ds[i], float(closes[i, j]), float(volumes[i, j])) for i in range(n)]
        for j, sym in enumerate(("AAA", "BBB", "CCC"))
    }
    return bars, volumes


def ledoit_wolf_numpy(x: np.ndarray) -> np.ndarray:
    """Ledoit & Wolf (2004), target μ·I, written from the paper's formulas."""
    n, p = x.shape
    xc = x - x.mean(axis=0)
    s = xc.T @ xc / n
    mu = np.trace(s) / p
    delta2 = np.sum((s - mu * np.eye(p)) ** 2)
    beta2_bar = sum(np.sum((np.outer(row, row) - s) ** 2) for row in xc) / n**2
    beta2 = min(beta2_bar, delta2)
    shrink = beta2 / delta2
    return shrink * mu * np.eye(p) + (1.0 - shrink) * s


def test_adv_sigma_and_covariance_match_an_independent_evaluation() -> None:
    bars, volumes = known_market()
    est = estimate(bars, AT, lookback_days=252, adv_days=20, min_observations=60)
    assert est.left_out == {} and est.dropped_bars == 0
    by_symbol = {s.symbol: s for s in est.stats}
    assert list(by_symbol) == ["AAA", "BBB", "CCC"]
    closes = np.array([[b.close for b in bars[s]] for s in ("AAA", "BBB", "CCC")]).T
    returns = closes[-253:][1:] / closes[-253:][:-1] - 1.0  # the last 252 simple returns
    for j, sym in enumerate(("AAA", "BBB", "CCC")):
        st = by_symbol[sym]
        assert st == MarketStatsUpdated(at=AT, symbol=sym, adv=st.adv, sigma=st.sigma)
        assert st.adv == pytest.approx(volumes[-20:, j].mean(), rel=1e-12)
        assert st.sigma == pytest.approx(returns[:, j].std(ddof=1), rel=1e-12)
    cov = est.covariance
    assert isinstance(cov, CovarianceEstimated)
    assert cov.symbols == ("AAA", "BBB", "CCC") and cov.at == AT
    assert cov.observations == 252 and cov.source == "bars:ledoit_wolf:252d"
    np.testing.assert_allclose(np.array(cov.daily), ledoit_wolf_numpy(returns), rtol=1e-10)
    # and it is a covariance: symmetric, positive definite, with the sign of the true one
    m = np.array(cov.daily)
    assert np.allclose(m, m.T) and np.all(np.linalg.eigvalsh(m) > 0)
    assert m[0, 1] > 0 and m[1, 2] < 0
    assert est.events() == [*est.stats, cov]


def test_short_history_is_left_out_never_nan() -> None:
    bars, _ = known_market()
    bars["NEW"] = bars["AAA"][-30:]  # 29 returns: ADV yes, σ no
    bars["TINY"] = bars["BBB"][-5:]  # 5 sessions: neither
    est = estimate(bars, AT, lookback_days=252, adv_days=20, min_observations=60)
    by_symbol = {s.symbol: s for s in est.stats}
    assert "TINY" not in by_symbol
    assert by_symbol["NEW"].sigma is None and by_symbol["NEW"].adv is not None
    assert set(est.left_out) == {"NEW", "TINY"}
    assert "29 returns < 60" in est.left_out["NEW"]
    assert "ADV: 5 sessions < 20" in est.left_out["TINY"]
    assert est.covariance is not None and "NEW" not in est.covariance.symbols
    for s in est.stats:
        for v in (s.adv, s.sigma):
            assert v is None or math.isfinite(v)


def test_bad_bars_are_dropped_and_counted() -> None:
    bars, _ = known_market(n=120)
    spoiled = list(bars["AAA"])
    spoiled[50] = DailyBar(spoiled[50].day, float("nan"), 1e6)
    spoiled[51] = DailyBar(spoiled[51].day, 0.0, 1e6)
    spoiled[52] = DailyBar(spoiled[52].day, 101.0, float("inf"))
    bars["AAA"] = spoiled
    est = estimate(bars, AT, lookback_days=252, adv_days=20, min_observations=60)
    assert est.dropped_bars == 3
    assert est.covariance is not None and est.covariance.observations == 116
    assert all(math.isfinite(v) for row in est.covariance.daily for v in row)
    assert all(s.sigma is not None and math.isfinite(s.sigma) for s in est.stats)


def test_covariance_uses_the_sessions_all_symbols_share() -> None:
    bars, _ = known_market(n=200)
    bars["BBB"] = [b for i, b in enumerate(bars["BBB"]) if i % 10 != 5]  # 20 sessions missing
    est = estimate(bars, AT, lookback_days=252, adv_days=20, min_observations=60)
    assert est.covariance is not None and est.covariance.observations == 179
    closes = {s: {b.day: b.close for b in bars[s]} for s in bars}
    common = sorted(set(closes["AAA"]) & set(closes["BBB"]) & set(closes["CCC"]))
    x = np.column_stack(
        [np.diff([closes[s][d] for d in common]) / [closes[s][d] for d in common[:-1]]
         for s in ("AAA", "BBB", "CCC")]
    )  # fmt: skip
    np.testing.assert_allclose(np.array(est.covariance.daily), ledoit_wolf_numpy(x), rtol=1e-10)


def test_sessions_from_before_on_are_ignored_and_the_window_is_the_latest() -> None:
    bars, _ = known_market(n=320)
    last = bars["AAA"][-1].day
    with_today = estimate(bars, AT, lookback_days=100, adv_days=5, min_observations=50,
                          before=last)  # fmt: skip
    without = estimate({s: b[:-1] for s, b in bars.items()}, AT, lookback_days=100, adv_days=5,
                       min_observations=50)  # fmt: skip
    assert with_today == without
    assert with_today.covariance is not None and with_today.covariance.observations == 100


def test_nothing_usable_gives_no_covariance() -> None:
    bars, _ = known_market(n=30)
    est = estimate(bars, AT, lookback_days=252, adv_days=20, min_observations=60)
    assert est.covariance is None
    assert all(s.sigma is None and s.adv is not None for s in est.stats)
    assert estimate({}, AT).events() == []


def test_impossible_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="min_observations"):
        estimate({}, AT, lookback_days=30, min_observations=60)
