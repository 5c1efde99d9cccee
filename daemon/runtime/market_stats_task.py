"""The market-statistics producer: daily bars → ADV, σ and covariance → the engine's queue.

Started by the service after the start-up snapshot, beside the streams; it never gates
readiness or trading. At once and then every ``refresh_interval_seconds`` it fetches daily
bars for every held or targeted symbol (up to the broker's today, from the shell's
broker-synced clock), estimates in a worker thread (numpy and scikit-learn, whose first
import alone takes about a second) and emits one ``MarketStatsUpdated`` per symbol and one
``CovarianceEstimated``; an ADV or σ configured under ``[assets.SYM]`` is not overwritten
(that field is sent as None, which the engine ignores). On failure the engine keeps what it
had (config values and defaults, or the last estimate), a warning is logged,
``rebalanced_market_stats_failures_total`` counts it and the refresh is retried after
``retry_seconds``, doubling up to the refresh interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from adapters.ports import DailyBarsSource, Emit
from daemon.core.config.values import MarketStatsConfig
from daemon.core.events import MarketStatsUpdated
from daemon.runtime.metrics import Metrics

log = structlog.get_logger("rebalanced")

__all__ = ["MarketStatsTask"]


def _estimate(bars: Any, at: datetime, cfg: MarketStatsConfig, before: Any) -> Any:
    from adapters.market_stats import estimate  # numpy + scikit-learn: in the worker thread

    return estimate(bars, at, lookback_days=cfg.lookback_days, adv_days=cfg.adv_days,
                    min_observations=cfg.min_observations, before=before)  # fmt: skip


class MarketStatsTask:
    def __init__(
        self,
        config: Callable[[], MarketStatsConfig],
        source: DailyBarsSource,
        symbols: Callable[[], Sequence[str]],
        emit: Emit,
        metrics: Metrics,
        now: Callable[[], datetime],
        *,
        timezone: str = "America/New_York",
        overrides: Callable[[], Mapping[str, tuple[float | None, float | None]]] = dict,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.source = source
        self.symbols = symbols
        self.emit = emit
        self.metrics = metrics
        self.now = now
        self.tz = ZoneInfo(timezone)
        self.overrides = overrides
        self.wall = wall
        self.sleep = sleep
        self.successes = 0
        self.failures = 0
        self._last: dict[str, Any] = {}  # what the last refresh gave, for /status

    def status(self) -> dict[str, Any]:
        return {"successes": self.successes, "failures": self.failures, **self._last}

    async def run(self) -> None:
        """Refresh until cancelled; never raises (a failure only delays the next try)."""
        backoff = self.config().retry_seconds
        while True:
            cfg = self.config()
            if not cfg.enabled:  # switched off by a reload
                await self.sleep(cfg.refresh_interval_seconds)
                continue
            if await self.refresh_once():
                backoff = cfg.retry_seconds
                await self.sleep(cfg.refresh_interval_seconds)
            else:
                delay = min(backoff, cfg.refresh_interval_seconds)
                backoff = min(backoff * 2.0, cfg.refresh_interval_seconds)
                await self.sleep(delay)

    async def refresh_once(self) -> bool:
        cfg = self.config()
        at = self.now()
        today = at.astimezone(self.tz).date()
        symbols = list(dict.fromkeys(self.symbols()))
        try:
            bars = await self.source.daily_bars(symbols, today, cfg.lookback_days + 1)
            est = await asyncio.to_thread(_estimate, bars, at, cfg, today)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failures += 1
            self.metrics.market_stats_failures.inc()
            self._last = {**self._last, "last_error": f"{type(exc).__name__}: {exc}",
                          "last_error_at": at.isoformat()}  # fmt: skip
            log.warning("market stats refresh failed; config values and defaults stay in use",
                        error=f"{type(exc).__name__}: {exc}", symbols=len(symbols))  # fmt: skip
            return False
        configured = self.overrides()
        for event in est.events():
            if isinstance(event, MarketStatsUpdated) and event.symbol in configured:
                adv, sigma = configured[event.symbol]  # [assets.SYM] values win
                event = replace(event, adv=None if adv is not None else event.adv,
                                sigma=None if sigma is not None else event.sigma)  # fmt: skip
            self.emit(event)
        self.successes += 1
        with_sigma = {s.symbol for s in est.stats if s.sigma is not None}
        left_out = {s: est.left_out.get(s, "no bars") for s in symbols if s not in with_sigma}
        self.metrics.market_stats_last_success.set(self.wall())
        self.metrics.market_stats_symbols.labels("estimated").set(len(with_sigma))
        self.metrics.market_stats_symbols.labels("left_out").set(len(left_out))
        cov = est.covariance
        self._last = {"last_success_at": at.isoformat(), "through": today.isoformat(),
                      "estimated": sorted(with_sigma), "left_out": left_out,
                      "covariance_observations": cov.observations if cov else 0}  # fmt: skip
        log.info("market stats updated", symbols=len(with_sigma), left_out=left_out,
                 covariance=list(cov.symbols) if cov else None,
                 observations=cov.observations if cov else 0,
                 dropped_bars=est.dropped_bars, through=today.isoformat())  # fmt: skip
        return True
