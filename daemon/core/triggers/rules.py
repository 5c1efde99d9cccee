"""When to rebalance: calendar, threshold, hybrid, look-interval; cooldown, runs per day and
the trading window. Pure functions over an immutable ``TriggerState``; "now" and the
trading sessions are handed in by the engine (from events), never read from a clock.

Semantics (``evaluate``):

- calendar: fires once per scheduled day (see ``calendar_rules``), at or after the rule's
  local time, while the trading window is open; ``record_run(…, calendar_fired=True)``
  marks the day done.
- threshold: fires whenever ``out_of_band`` is non-empty.
- hybrid: calendar OR threshold.
- look_interval: bands are checked only on scheduled days (from the rule's time on): fires
  if something is out of band then.
- blocks (any of them stops every trigger): no session today, outside the window (clipped by
  the session's open/close, so early closes end it early), cooldown after the last run, and
  ``max_runs_per_day`` runs already on this exchange-local date (0 means no automatic runs).

Reasons are listed even while blocked, so a log line can say what was due and why it waited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from daemon.core.config.values import Config, TriggerConfig, TriggerMode
from daemon.core.model import TradingSession
from daemon.core.planning.plan import WeightRow
from daemon.core.triggers.calendar import next_calendar_time, scheduled_day_tuple
from daemon.core.triggers.market_hours import (
    fmt_local,
    local_at,
    local_date,
    require_aware,
    session_on,
    window_bounds,
)

MAX_LISTED = 5  # threshold reasons name at most this many assets, then "… and N more"


@dataclass(frozen=True, slots=True)
class TriggerState:
    last_run_at: datetime | None = None
    runs_today: int = 0
    runs_day: date | None = None  # exchange-local date that runs_today counts
    last_calendar_day: date | None = None  # the scheduled day the calendar last fired on


@dataclass(frozen=True, slots=True)
class TriggerDecision:
    triggered: bool
    reasons: tuple[str, ...]
    blocked: tuple[str, ...]
    calendar: bool = False  # the calendar (or look-interval day) is among the reasons

    @property
    def due(self) -> bool:
        """Something wanted to run (it may still be blocked)."""
        return bool(self.reasons)


def in_trading_window(
    config: TriggerConfig, now: datetime, sessions: Sequence[TradingSession]
) -> bool:
    """True on a session day, inside [window_start, window_end] local time and inside the
    session's open/close (an early close clips the window)."""
    return _window_block(config, now, sessions) is None


# the last (config, now, sessions, answer): a check asks twice (the engine's blockers, then
# ``evaluate``) with the same immutable config and sessions tuple, by identity
_last_window: tuple[TriggerConfig, datetime, Sequence[TradingSession], str | None] | None = None


def _window_block(
    config: TriggerConfig, now: datetime, sessions: Sequence[TradingSession]
) -> str | None:
    global _last_window
    last = _last_window
    if last is not None and last[2] is sessions and last[0] is config and last[1] == now:
        return last[3]
    why = _window_block_of(config, now, sessions)
    if type(sessions) is tuple:
        _last_window = (config, now, sessions, why)
    return why


def _window_block_of(
    config: TriggerConfig, now: datetime, sessions: Sequence[TradingSession]
) -> str | None:
    tz = config.timezone
    today = local_date(now, tz)
    session = session_on(today, sessions)
    if session is None:
        return f"market closed: no trading session on {today.isoformat()}"
    start, end = window_bounds(session, config.window_start, config.window_end, tz)
    if not start <= now <= end:
        return (
            f"outside trading window {fmt_local(start, tz)[11:16]}–{fmt_local(end, tz)[11:]}"
            f" (now {fmt_local(now, tz)})"
        )
    return None


def _runs_block(config: TriggerConfig, now: datetime, state: TriggerState) -> list[str]:
    blocked: list[str] = []
    tz = config.timezone
    if state.last_run_at is not None and config.cooldown_seconds > 0:
        until = state.last_run_at + timedelta(seconds=config.cooldown_seconds)
        if now < until:
            blocked.append(f"cooldown until {fmt_local(until, tz)}")
    runs = state.runs_today if state.runs_day == local_date(now, tz) else 0
    if runs >= config.max_runs_per_day:
        blocked.append(f"max runs per day reached ({runs}/{config.max_runs_per_day})")
    return blocked


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %"


def _asset_text(symbol: str, rows: Mapping[str, WeightRow] | None) -> str:
    row = None if rows is None else rows.get(symbol)
    if row is None:
        return f"{symbol} out of band"
    if row.current > row.high:
        return f"{symbol} {_pct(row.current)} above band {_pct(row.high)}"
    if row.current < row.low:
        return f"{symbol} {_pct(row.current)} below band {_pct(row.low)}"
    return f"{symbol} {_pct(row.current)} at band edge [{_pct(row.low)}, {_pct(row.high)}]"


def threshold_text(out_of_band: Sequence[str], rows: Mapping[str, WeightRow] | None) -> str:
    listed = [_asset_text(s, rows) for s in out_of_band[:MAX_LISTED]]
    more = len(out_of_band) - len(listed)
    return "; ".join(listed) + (f"; and {more} more" if more > 0 else "")


def evaluate(
    config: Config,
    now: datetime,
    out_of_band: Sequence[str],
    sessions: Sequence[TradingSession],
    state: TriggerState,
    rows: Mapping[str, WeightRow] | None = None,
) -> TriggerDecision:
    """Decide whether a rebalance run may start at ``now``. ``rows`` (optional, from
    ``DriftTracker.rows()``) only enriches the threshold reasons with weights and bands."""
    require_aware(now)
    tc = config.trigger
    tz = tc.timezone
    mode = tc.mode
    today = local_date(now, tz)

    calendar_due = False
    calendar_text = ""
    if mode is not TriggerMode.THRESHOLD and today in scheduled_day_tuple(tc.calendar, sessions):
        at = local_at(today, tc.calendar.at, tz)
        if now >= at:
            calendar_due = mode is TriggerMode.LOOK_INTERVAL or state.last_calendar_day != today
            calendar_text = f"{tc.calendar.frequency.value} on {fmt_local(at, tz)}"

    reasons: list[str] = []
    fired_calendar = False
    if mode in (TriggerMode.CALENDAR, TriggerMode.HYBRID) and calendar_due:
        reasons.append(f"calendar: {calendar_text}")
        fired_calendar = True
    if mode in (TriggerMode.THRESHOLD, TriggerMode.HYBRID) and out_of_band:
        reasons.append(f"threshold: {threshold_text(out_of_band, rows)}")
    if mode is TriggerMode.LOOK_INTERVAL and calendar_due and out_of_band:
        reasons.append(f"look-interval: {calendar_text}: {threshold_text(out_of_band, rows)}")
        fired_calendar = True

    blocked: list[str] = []
    window = _window_block(tc, now, sessions)
    if window is not None:
        blocked.append(window)
    blocked.extend(_runs_block(tc, now, state))
    return TriggerDecision(
        triggered=bool(reasons) and not blocked,
        reasons=tuple(reasons),
        blocked=tuple(blocked),
        calendar=fired_calendar,
    )


def record_run(state: TriggerState, now: datetime, tz: str, calendar_fired: bool) -> TriggerState:
    """The state after a run started at ``now`` (counts per exchange-local date)."""
    today = local_date(now, tz)
    runs = state.runs_today + 1 if state.runs_day == today else 1
    return TriggerState(
        last_run_at=now,
        runs_today=runs,
        runs_day=today,
        last_calendar_day=today if calendar_fired else state.last_calendar_day,
    )


def next_wakeup(
    config: Config, now: datetime, sessions: Sequence[TradingSession], state: TriggerState
) -> datetime | None:
    """The next moment at which ``evaluate`` could newly fire the calendar (or look-interval)
    without a quote arriving: the later of the next calendar time, the window opening that
    day and the end of the cooldown, strictly after ``now``. ``None`` for pure threshold
    mode or when the sessions show no such moment.
    (Threshold checks are driven by quotes and ``check_interval_seconds``.)"""
    require_aware(now)
    tc = config.trigger
    if tc.mode is TriggerMode.THRESHOLD:
        return None
    tz = tc.timezone
    today = local_date(now, tz)
    candidate: datetime | None
    if today in scheduled_day_tuple(tc.calendar, sessions) and state.last_calendar_day != today:
        candidate = local_at(today, tc.calendar.at, tz)
    else:
        candidate = next_calendar_time(tc.calendar, now, sessions, tz)
    while candidate is not None:
        day = local_date(candidate, tz)
        session = session_on(day, sessions)
        if session is not None:
            start, end = window_bounds(session, tc.window_start, tc.window_end, tz)
            moment = max(candidate, start)
            if state.last_run_at is not None and tc.cooldown_seconds > 0:
                moment = max(moment, state.last_run_at + timedelta(seconds=tc.cooldown_seconds))
            if now < moment <= end:  # not now: the caller is evaluating at ``now`` already
                return moment
            after = max(candidate, end)
        else:  # pragma: no cover - scheduled days are session days
            after = candidate
        candidate = next_calendar_time(tc.calendar, after, sessions, tz)
    return None
