"""The model-targets producer: daily bars → the model's weights → ``TargetsChanged``.

Started by the service beside the market-stats task when ``[targets.model] kind`` is not
``static``; it never gates readiness or trading. At start-up and then every
``check_seconds`` it looks at the broker's today (the shell's broker-synced clock, in the
exchange's time zone): once per schedule period (ISO week, month, quarter) it fetches the
daily bars of the targets, estimates in a worker thread (PyPortfolioOpt / skfolio, with
pandas and cvxpy: seconds of import the first time) from the closes before the period's
first session (``adapters.models.estimate.targets_for``: the same cutoff as ``rebalanced
targets`` and the backtester, so a restart in mid-period re-estimates the same weights) and
puts one ``TargetsChanged`` on the queue: the engine swaps the targets and its bands decide.

A failed estimate (too little history, a NaN close, a singular covariance, infeasible
bounds, a solver failure) or a failed fetch keeps the old targets: one warning with the
reason and the fix, ``rebalanced_model_target_failures_total{reason}`` counts it, and the
period is tried again at the next check.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from adapters.ports import DailyBarsSource, Emit
from daemon.core.config.values import Config
from daemon.runtime.metrics import Metrics

log = structlog.get_logger("rebalanced")

__all__ = ["ModelTargetsTask"]

EXTRA_SESSIONS = 30  # bars beyond the window: the period's own sessions before today


def _estimate(config: Config, bars: Any, today: date, current: Any) -> Any:
    from adapters.models.estimate import closes_from_bars, targets_for  # pandas, pypfopt

    dates, closes = closes_from_bars(bars, config.symbols)
    return targets_for(config, dates, closes, today, current)


class ModelTargetsTask:
    def __init__(
        self,
        config: Callable[[], Config],
        source: DailyBarsSource,
        emit: Emit,
        metrics: Metrics,
        now: Callable[[], datetime],
        *,
        check_seconds: float = 3600.0,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.source = source
        self.emit = emit
        self.metrics = metrics
        self.now = now
        self.check_seconds = check_seconds
        self.wall = wall
        self.sleep = sleep
        self.successes = 0
        self.failures = 0
        self._period: tuple[str, date] | None = None  # (schedule, period start) estimated
        self._current: dict[str, float] | None = None  # the targets last sent
        self._last: dict[str, Any] = {}
        self._event: Any = None  # the last TargetsChanged sent

    def status(self) -> dict[str, Any]:
        return {"successes": self.successes, "failures": self.failures, **self._last}

    async def run(self) -> None:
        """Check until cancelled; never raises."""
        while True:
            await self.refresh_once()
            await self.sleep(self.check_seconds)

    async def refresh_once(self) -> bool | None:
        """None: nothing due (static, or this period done); True: sent; False: failed."""
        from adapters.models.periods import period_start  # light: dates only

        config = self.config()
        m = config.targets_model
        if m.kind == "static":
            return None
        at = self.now()
        today = at.astimezone(ZoneInfo(config.trigger.timezone)).date()
        period = (str(m.schedule), period_start(today, m.schedule))
        if period == self._period:
            return None
        from adapters.models.failure import ModelFailure

        try:
            bars = await self.source.daily_bars(
                list(config.symbols), today, m.window_days + EXTRA_SESSIONS
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return self._failed(at, "bars_unavailable", f"{type(exc).__name__}: {exc}")
        try:
            result = await asyncio.to_thread(_estimate, config, bars, today, self._current)
        except ModelFailure as f:
            return self._failed(at, f.reason, f.message)
        except Exception as exc:  # a library bug must not stop the daemon
            return self._failed(at, "optimizer_failed", f"{type(exc).__name__}: {exc}")
        event = result.event(at)
        self.emit(event)
        self._event = event
        self._period = period
        self._current = dict(result.targets)
        self.successes += 1
        self.metrics.model_targets_last_success.set(self.wall())
        weights = {s: round(w, 6) for s, w in result.targets}
        self._last = {"last_success_at": at.isoformat(), "source": result.source,
                      "inputs_from": event.inputs_from.isoformat(),
                      "inputs_to": event.inputs_to.isoformat(), "targets": weights}  # fmt: skip
        log.info("model targets estimated", source=result.source, targets=weights,
                 inputs_from=event.inputs_from.isoformat(),
                 inputs_to=event.inputs_to.isoformat(), observations=event.observations)  # fmt: skip
        return True

    def after_reload(self) -> None:
        """A reloaded config brings back the file's static targets: send the model's again
        (the engine refuses them if the reload changed the symbols or the cash target) and
        re-estimate at the next check with the new [targets.model]."""
        self._period = None
        if self._event is not None and self.config().targets_model.kind != "static":
            from dataclasses import replace

            self.emit(replace(self._event, at=self.now()))

    def _failed(self, at: datetime, reason: str, message: str) -> bool:
        self.failures += 1
        self.metrics.model_target_failures.labels(reason).inc()
        self._last = {**self._last, "last_error": f"{reason}: {message}",
                      "last_error_at": at.isoformat()}  # fmt: skip
        log.warning("model targets not updated; the old targets stay", reason=reason,
                    error=message, retry_seconds=self.check_seconds)  # fmt: skip
        return False
