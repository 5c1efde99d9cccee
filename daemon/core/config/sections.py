"""Validation of the non-portfolio sections: [trigger] (+ [trigger.calendar]), [cost]
(+ [cost.covariance]), [planner], [execution], [broker] and [daemon].

Each ``*_section`` reads one table with a ``Reader`` (collecting problems) and returns the
frozen config value; ``config_parse`` calls them. Allowed keys come from the dataclass fields,
so a new field in ``daemon.core.config.values`` is settable from the file at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from daemon.core.config.fields import Reader, fmt_num, type_name
from daemon.core.config.values import (
    BrokerConfig,
    CalendarRule,
    CostConfig,
    DaemonConfig,
    ExecutionConfig,
    Frequency,
    MarketStatsConfig,
    PlannerConfig,
    TriggerConfig,
    TriggerMode,
)

__all__ = [
    "BROKER_KEYS",
    "COST_KEYS",
    "DAEMON_KEYS",
    "EXECUTION_KEYS",
    "MARKET_STATS_KEYS",
    "PLANNER_KEYS",
    "TRIGGER_KEYS",
    "broker_section",
    "cost_section",
    "daemon_section",
    "execution_section",
    "market_stats_section",
    "planner_section",
    "trigger_section",
]


def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


TRIGGER_KEYS = (*_names(TriggerConfig), "cooldown_minutes")
CALENDAR_KEYS = ("frequency", "day", "time")
COST_KEYS = _names(CostConfig)
_PLANNER_TOML = {"limit_offset": "limit_offset_bps", "max_spread": "max_spread_bps"}
PLANNER_KEYS = tuple(_PLANNER_TOML.get(n, n) for n in _names(PlannerConfig))
EXECUTION_KEYS = _names(ExecutionConfig)
BROKER_KEYS = _names(BrokerConfig)
DAEMON_KEYS = _names(DaemonConfig)
MARKET_STATS_KEYS = _names(MarketStatsConfig)

BROKER_KINDS = ("sim", "alpaca")
FEEDS = ("iex", "sip", "test")
LOG_FORMATS = ("auto", "json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # no Feb 29: not yearly
URL = re.compile(r"^(https?|wss?)://[^\s/]+", re.IGNORECASE)


# --- trigger ------------------------------------------------------------------------------


def trigger_section(r: Reader, tbl: Mapping[str, Any]) -> TriggerConfig:
    p, d = "trigger", TriggerConfig()
    mode = r.member(tbl, "mode", p, d.mode)
    cooldown = r.number(tbl, "cooldown_seconds", p, d.cooldown_seconds, minimum=0.0, unit="s")
    if "cooldown_minutes" in tbl:
        minutes = r.number(tbl, "cooldown_minutes", p, -1.0, minimum=0.0, unit="min")
        if "cooldown_seconds" in tbl:
            r.problem(
                f"{p}.cooldown_minutes",
                "the cooldown is given twice (cooldown_seconds and cooldown_minutes): keep one",
            )
        elif minutes >= 0:
            cooldown = minutes * 60.0
    start = r.clock(tbl, "window_start", p, d.window_start)
    end = r.clock(tbl, "window_end", p, d.window_end)
    if start >= end:
        r.problem(
            f"{p}.window_end",
            f"the trading window ends ({end:%H:%M}) before it "
            f"starts ({start:%H:%M}): window_start must be earlier than window_end",
        )
    timezone = r.string(tbl, "timezone", p, d.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(
            f"{p}.timezone",
            f'{timezone!r} is not a known time zone: use an IANA name such as "America/New_York"',
        )
    calendar = CalendarRule()
    if "calendar" in tbl:
        cal_tbl = r.check_table(tbl["calendar"], f"{p}.calendar", CALENDAR_KEYS)
        calendar = _calendar(r, cal_tbl)
        if mode is TriggerMode.THRESHOLD:
            r.problem(
                f"{p}.calendar",
                'mode "threshold" ignores the calendar: remove '
                '[trigger.calendar] or use mode "hybrid" / "calendar"',
            )
    if mode is not TriggerMode.THRESHOLD and start < end and not start <= calendar.at <= end:
        r.problem(
            f"{p}.calendar.time",
            f"{calendar.at:%H:%M} is outside the trading window "
            f"{start:%H:%M}–{end:%H:%M}, so calendar runs could never start: move "
            "the time into the window",
        )
    return TriggerConfig(
        mode=mode,
        calendar=calendar,
        cooldown_seconds=cooldown,
        max_runs_per_day=r.integer(tbl, "max_runs_per_day", p, d.max_runs_per_day, minimum=1),
        window_start=start,
        window_end=end,
        timezone=timezone,
        check_interval_seconds=r.number(
            tbl,
            "check_interval_seconds",
            p,
            d.check_interval_seconds,
            minimum=0.0,
            exclusive_min=True,
            unit="s",
        ),
    )


def _calendar(r: Reader, tbl: Mapping[str, Any]) -> CalendarRule:
    p, d = "trigger.calendar", CalendarRule()
    freq = r.member(tbl, "frequency", p, d.frequency)
    at = r.clock(tbl, "time", p, d.at)
    if "day" not in tbl:
        return CalendarRule(frequency=freq, at=at)
    day, path = tbl["day"], f"{p}.day"
    if freq is Frequency.DAILY:
        r.problem(path, 'frequency "daily" takes no day: remove day')
    elif freq is Frequency.WEEKLY:
        if isinstance(day, str) and day.lower() in WEEKDAYS:
            return CalendarRule(frequency=freq, weekday=WEEKDAYS.index(day.lower()), at=at)
        r.problem(
            path,
            f'expected a weekday "Monday".."Friday" for a weekly calendar, got {type_name(day)}',
        )
    elif freq in (Frequency.MONTHLY, Frequency.QUARTERLY):
        n = r.raw_integer(day, path)
        if n is not None and 1 <= n <= 31:
            return CalendarRule(frequency=freq, day_of_month=n, at=at)
        if n is not None:
            r.problem(
                path,
                f"is {n}; a day of the month is 1..31 (31 means the month's "
                "last day in shorter months)",
            )
    else:
        md = _month_day(day)
        if md is not None:
            return CalendarRule(frequency=freq, month_day=md, at=at)
        r.problem(
            path,
            f'expected "MM-DD" (a real date such as "01-02") for an annual '
            f"calendar, got {type_name(day)}",
        )
    return CalendarRule(frequency=freq, at=at)


def _month_day(day: object) -> tuple[int, int] | None:
    if not isinstance(day, str):
        return None
    m = re.fullmatch(r"(\d{2})-(\d{2})", day.strip())
    if not m:
        return None
    month, dom = int(m.group(1)), int(m.group(2))
    if 1 <= month <= 12 and 1 <= dom <= DAYS_IN_MONTH[month - 1]:
        return month, dom
    return None


# --- cost, planner, execution, broker, daemon ---------------------------------------------


def cost_section(r: Reader, tbl: Mapping[str, Any], targets: set[str]) -> CostConfig:
    p, d = "cost", CostConfig()
    return CostConfig(
        gate=r.boolean(tbl, "gate", p, d.gate),
        commission_per_order=r.decimal(
            tbl, "commission_per_order", p, d.commission_per_order, unit="$"
        ),
        commission_bps=r.number(
            tbl, "commission_bps", p, d.commission_bps, minimum=0.0, unit="bps"
        ),
        impact_coefficient=r.number(
            tbl, "impact_coefficient", p, d.impact_coefficient, minimum=0.0
        ),
        default_sigma=r.number(
            tbl, "default_sigma", p, d.default_sigma, minimum=0.0, exclusive_min=True
        ),
        default_adv=r.optional_number(
            tbl, "default_adv", p, d.default_adv, minimum=0.0, exclusive_min=True, unit="shares/day"
        ),
        default_half_spread_bps=r.number(
            tbl, "default_half_spread_bps", p, d.default_half_spread_bps, minimum=0.0, unit="bps"
        ),
        risk_aversion=r.number(tbl, "risk_aversion", p, d.risk_aversion, minimum=0.0),
        horizon_days=r.number(
            tbl, "horizon_days", p, d.horizon_days, minimum=0.0, exclusive_min=True, unit="days"
        ),
        covariance=_covariance(r, tbl.get("covariance", {}), targets),
        expected_return=r.number(
            tbl, "expected_return", p, d.expected_return * 100, minimum=-100.0, maximum=100.0,
            unit="% a year",
        )
        / 100.0,
        cash_return=r.number(
            tbl, "cash_return", p, d.cash_return * 100, minimum=-100.0, maximum=100.0,
            unit="% a year",
        )
        / 100.0,
        min_trade_dollars=r.decimal(tbl, "min_trade_dollars", p, d.min_trade_dollars, unit="$"),
        min_trade_percent=r.number(
            tbl, "min_trade_percent", p, 0.0, minimum=0.0, maximum=100.0, unit="%"
        )
        / 100.0,
    )


def _covariance(r: Reader, raw: object, targets: set[str]) -> dict[tuple[str, str], float]:
    p = "cost.covariance"
    if not isinstance(raw, Mapping):
        r.problem(p, f'expected a table of "A,B" = number, got {type_name(raw)}')
        return {}
    out: dict[tuple[str, str], float] = {}
    for key, value in raw.items():
        path = f'{p}."{key}"'
        parts = [s.strip() for s in key.split(",")]
        if len(parts) != 2 or not all(parts):
            r.problem(path, 'expected a pair of symbols "A,B" (e.g. "VTI,BND" = 0.00004)')
            continue
        a, b = parts
        missing = [s for s in (a, b) if s not in targets]
        if missing:
            r.problem(
                path,
                f"{', '.join(missing)} is not a target: covariance pairs must "
                "name symbols in [portfolio.targets]",
            )
            continue
        x = r.raw_number(value, path)
        if x is None:
            continue
        if a == b and x < 0:
            r.problem(path, f"a variance cannot be negative (got {fmt_num(x)}): fix the sign")
            continue
        if (a, b) in out:
            if out[(a, b)] != x:
                r.problem(
                    path,
                    f"contradicts the value {fmt_num(out[(a, b)])} given for "
                    f'"{b},{a}": a covariance is symmetric, give the pair once',
                )
            continue
        out[(a, b)] = out[(b, a)] = x
    return out


def planner_section(r: Reader, tbl: Mapping[str, Any]) -> PlannerConfig:
    p, d = "planner", PlannerConfig()
    offset_bps = r.number(
        tbl, "limit_offset_bps", p, d.limit_offset * 10_000, minimum=0.0, maximum=500.0, unit="bps"
    )
    cap = r.number(
        tbl,
        "participation_cap",
        p,
        d.participation_cap * 100,
        minimum=0.0,
        maximum=100.0,
        exclusive_min=True,
        unit="% of ADV",
    )
    top_k: int | None = d.top_k
    if "top_k" in tbl and tbl["top_k"] is not False:
        top_k = r.integer(tbl, "top_k", p, 0, minimum=1) or None
    split = r.number(
        tbl, "split_suspect_ratio", p, d.split_suspect_ratio, minimum=0.0, maximum=100.0
    )
    if 0 < split <= 1:
        r.problem(
            f"{p}.split_suspect_ratio",
            f"{fmt_num(split)} would call every quote a split: give a factor above 1 "
            "(1.4 catches 3-for-2 and larger splits) or 0 to turn the split hold off",
        )
        split = d.split_suspect_ratio
    return PlannerConfig(
        target_mode=r.member(tbl, "target_mode", p, d.target_mode),
        scope=r.member(tbl, "scope", p, d.scope),
        min_order_notional=r.decimal(tbl, "min_order_notional", p, d.min_order_notional, unit="$"),
        limit_offset=offset_bps / 10_000,
        market_orders=r.boolean(tbl, "market_orders", p, d.market_orders),
        participation_cap=cap / 100.0,
        top_k=top_k,
        max_quote_age_seconds=r.number(
            tbl,
            "max_quote_age_seconds",
            p,
            d.max_quote_age_seconds,
            minimum=0.0,
            exclusive_min=True,
            unit="s",
        ),
        whole_share_leftover=r.member(tbl, "whole_share_leftover", p, d.whole_share_leftover),
        split_suspect_ratio=split,
        max_spread=r.number(
            tbl,
            "max_spread_bps",
            p,
            d.max_spread * 10_000,
            minimum=0.0,
            maximum=10_000.0,
            exclusive_min=True,
            unit="bps",
        )
        / 10_000.0,
    )


def execution_section(r: Reader, tbl: Mapping[str, Any]) -> ExecutionConfig:
    p, d = "execution", ExecutionConfig()
    return ExecutionConfig(
        orders_per_minute=r.number(
            tbl, "orders_per_minute", p, d.orders_per_minute, minimum=0.0, exclusive_min=True
        ),
        burst=r.integer(tbl, "burst", p, d.burst, minimum=1),
        max_in_flight=r.integer(tbl, "max_in_flight", p, d.max_in_flight, minimum=1),
        order_timeout_seconds=r.number(
            tbl,
            "order_timeout_seconds",
            p,
            d.order_timeout_seconds,
            minimum=0.0,
            exclusive_min=True,
            unit="s",
        ),
        lookup_delay_seconds=r.number(
            tbl, "lookup_delay_seconds", p, d.lookup_delay_seconds, minimum=0.0, unit="s"
        ),
        resolve_grace_seconds=r.number(
            tbl,
            "resolve_grace_seconds",
            p,
            d.resolve_grace_seconds,
            minimum=0.0,
            exclusive_min=True,
            unit="s",
        ),
        cancel_open_on_shutdown=r.boolean(
            tbl, "cancel_open_on_shutdown", p, d.cancel_open_on_shutdown
        ),
        max_rounds=r.integer(tbl, "max_rounds", p, d.max_rounds, minimum=1),
    )


def _url(r: Reader, tbl: Mapping[str, Any], key: str, path: str) -> str | None:
    value = r.optional_string(tbl, key, path, None)
    if value is not None and not URL.match(value):
        r.problem(
            f"{path}.{key}",
            "expected a URL starting with http://, https://, ws:// or "
            'wss:// (e.g. "http://127.0.0.1:8800"), or false for the default',
        )
        return None
    return value


def broker_section(r: Reader, tbl: Mapping[str, Any]) -> BrokerConfig:
    p, d = "broker", BrokerConfig()
    return BrokerConfig(
        kind=r.choice(tbl, "kind", p, d.kind, BROKER_KINDS),
        paper=r.boolean(tbl, "paper", p, d.paper),
        feed=r.choice(tbl, "feed", p, d.feed, FEEDS),
        rest_url=_url(r, tbl, "rest_url", p),
        data_url=_url(r, tbl, "data_url", p),
        stream_url=_url(r, tbl, "stream_url", p),
        trade_stream_url=_url(r, tbl, "trade_stream_url", p),
        requests_per_minute=r.integer(
            tbl, "requests_per_minute", p, d.requests_per_minute, minimum=1
        ),
        rate_headroom=r.number(tbl, "rate_headroom", p, d.rate_headroom, minimum=0.0, maximum=0.9),
        request_timeout_seconds=r.number(
            tbl,
            "request_timeout_seconds",
            p,
            d.request_timeout_seconds,
            minimum=0.0,
            exclusive_min=True,
            unit="s",
        ),
        stale_after_seconds=r.number(
            tbl,
            "stale_after_seconds",
            p,
            d.stale_after_seconds,
            minimum=0.0,
            exclusive_min=True,
            unit="s",
        ),
    )


def daemon_section(r: Reader, tbl: Mapping[str, Any]) -> DaemonConfig:
    p, d = "daemon", DaemonConfig()
    return DaemonConfig(
        state_dir=r.string(tbl, "state_dir", p, d.state_dir),
        http_host=r.string(tbl, "http_host", p, d.http_host),
        http_port=r.integer(tbl, "http_port", p, d.http_port, minimum=1, maximum=65535),
        log_format=r.choice(tbl, "log_format", p, d.log_format, LOG_FORMATS),
        log_level=r.choice(tbl, "log_level", p, d.log_level, LOG_LEVELS),
        reconcile_interval_seconds=r.number(
            tbl,
            "reconcile_interval_seconds",
            p,
            d.reconcile_interval_seconds,
            minimum=0.0,
            exclusive_min=True,
            unit="s",
        ),
        drain_deadline_seconds=r.number(
            tbl, "drain_deadline_seconds", p, d.drain_deadline_seconds, minimum=0.0, unit="s"
        ),
        queue_size=r.integer(tbl, "queue_size", p, d.queue_size, minimum=1),
        dry_run=r.boolean(tbl, "dry_run", p, d.dry_run),
    )


def market_stats_section(r: Reader, tbl: Mapping[str, Any]) -> MarketStatsConfig:
    p, d = "market_stats", MarketStatsConfig()
    lookback = r.integer(tbl, "lookback_days", p, d.lookback_days, minimum=2, maximum=5000)
    min_obs = r.integer(tbl, "min_observations", p, d.min_observations, minimum=2)
    if min_obs > lookback:
        r.problem(
            f"{p}.min_observations",
            f"is {min_obs} but lookback_days is {lookback}: a window of {lookback} returns "
            "can never hold more; lower min_observations or raise lookback_days",
        )
        min_obs = min(d.min_observations, lookback)
    refresh = r.number(
        tbl,
        "refresh_interval_seconds",
        p,
        d.refresh_interval_seconds,
        minimum=60.0,
        unit="s",
    )
    return MarketStatsConfig(
        enabled=r.boolean(tbl, "enabled", p, d.enabled),
        lookback_days=lookback,
        adv_days=r.integer(tbl, "adv_days", p, d.adv_days, minimum=1, maximum=5000),
        min_observations=min_obs,
        refresh_interval_seconds=refresh,
        retry_seconds=r.number(
            tbl, "retry_seconds", p, d.retry_seconds, minimum=1.0, maximum=refresh, unit="s"
        ),
    )
