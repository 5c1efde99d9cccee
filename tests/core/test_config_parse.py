"""The configuration parser: every field reachable from the file, units converted, and each
kind of bad input reported as its own clearly-worded problem (all of them at once)."""

from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import fields
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.config.reader import ConfigError, ConfigProblem, parse_config, parse_config_text
from daemon.core.config.values import (
    Band,
    BandRule,
    BrokerConfig,
    Config,
    CostConfig,
    DaemonConfig,
    ExecutionConfig,
    Frequency,
    NotInTargets,
    PlannerConfig,
    Scope,
    TargetMode,
    TriggerConfig,
    TriggerMode,
)

ROOT = Path(__file__).resolve().parents[2]
DELETE = object()


def base() -> dict[str, Any]:
    return {
        "portfolio": {
            "cash_target": 2,
            "targets": {"VTI": 40, "VXUS": 20, "BND": 30, "VNQ": 8},
        }
    }


def merged(changes: dict[str, Any]) -> dict[str, Any]:
    out = base()

    def merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
        for k, v in src.items():
            if v is DELETE:
                dst.pop(k, None)
            elif isinstance(v, dict) and isinstance(dst.get(k), dict):
                merge(dst[k], v)
            else:
                dst[k] = copy.deepcopy(v)

    merge(out, changes)
    return out


def problems(changes: dict[str, Any]) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        parse_config(merged(changes))
    return info.value.problems


# --- good input ---------------------------------------------------------------------------


def test_minimal_file_gets_every_default() -> None:
    c = parse_config(base())
    assert c.bands == Band()
    assert c.trigger == TriggerConfig()
    assert c.cost == CostConfig()
    assert c.planner == PlannerConfig()
    assert c.execution == ExecutionConfig()
    assert c.broker == BrokerConfig()
    assert c.daemon == DaemonConfig()
    assert c.symbols == ("VTI", "VXUS", "BND", "VNQ")
    assert [a.target for a in c.portfolio.assets] == [0.40, 0.20, 0.30, 0.08]
    assert c.portfolio.cash_target == 0.02
    assert c.portfolio.cash_band == Band()


def test_percent_becomes_fraction_and_money_stays_decimal() -> None:
    c = parse_config(
        merged(
            {
                "portfolio": {"cash_buffer": 0.5, "not_in_targets": "liquidate"},
                "bands": {"absolute": 4, "relative": 20, "rule": "absolute"},
                "cost": {"commission_per_order": 0.1, "min_trade_dollars": 250,
                         "min_trade_percent": 0.5},
                "planner": {"limit_offset_bps": 25, "participation_cap": 10, "top_k": 2,
                            "min_order_notional": 0.3, "target_mode": "halfway",
                            "scope": "out_of_band"},
            }
        )
    )  # fmt: skip
    assert c.portfolio.cash_buffer == pytest.approx(0.005)
    assert c.portfolio.not_in_targets is NotInTargets.LIQUIDATE
    assert c.bands == Band(absolute=0.04, relative=0.20, rule=BandRule.ABSOLUTE)
    assert c.cost.commission_per_order == Decimal("0.1")  # not 0.1000000000000000055…
    assert c.cost.min_trade_dollars == Decimal("250")
    assert c.cost.min_trade_percent == pytest.approx(0.005)
    assert c.planner.limit_offset == pytest.approx(0.0025)
    assert c.planner.participation_cap == pytest.approx(0.10)
    assert c.planner.min_order_notional == Decimal("0.3")
    assert c.planner.top_k == 2
    assert c.planner.target_mode is TargetMode.HALFWAY
    assert c.planner.scope is Scope.OUT_OF_BAND


def test_band_overrides_and_cash_band_inherit_omitted_keys() -> None:
    c = parse_config(
        merged(
            {
                "portfolio": {"cash_band": {"absolute": 1}},
                "bands": {"absolute": 5, "relative": 25,
                          "overrides": {"BND": {"absolute": 3}, "VNQ": {"relative": False}}},
            }
        )
    )  # fmt: skip
    bnd, vnq, vti = c.asset("BND"), c.asset("VNQ"), c.asset("VTI")
    assert bnd is not None and vnq is not None and vti is not None
    assert bnd.band == Band(absolute=0.03, relative=0.25)
    assert vnq.band == Band(absolute=0.05, relative=None)
    assert vti.band == c.bands == Band(absolute=0.05, relative=0.25)
    assert c.portfolio.cash_band == Band(absolute=0.01, relative=0.25)


def test_inside_bands_an_omitted_width_is_disabled() -> None:
    c = parse_config(merged({"bands": {"relative": 20, "rule": "relative"}}))
    assert c.bands == Band(absolute=None, relative=0.20, rule=BandRule.RELATIVE)


def test_asset_properties_and_zero_target_means_sell_all() -> None:
    c = parse_config(
        merged(
            {
                "portfolio": {"targets": {"VNQ": 0, "GLD": 8}},
                "assets": {"VNQ": {"fractional": False, "sigma": 0.02, "adv": 4_000_000}},
            }
        )
    )
    vnq = c.asset("VNQ")
    assert vnq is not None
    assert (vnq.target, vnq.fractional, vnq.sigma, vnq.adv) == (0.0, False, 0.02, 4e6)
    gld = c.asset("GLD")
    assert gld is not None and gld.fractional is True and gld.sigma is None


def test_trigger_and_calendar_fields() -> None:
    c = parse_config(
        merged(
            {
                "trigger": {"mode": "look_interval", "cooldown_minutes": 30,
                            "max_runs_per_day": 3, "window_start": "10:00",
                            "window_end": time(15, 0), "timezone": "Europe/London",
                            "check_interval_seconds": 15,
                            "calendar": {"frequency": "weekly", "day": "friday",
                                         "time": "14:30"}},
            }
        )
    )  # fmt: skip
    t = c.trigger
    assert t.mode is TriggerMode.LOOK_INTERVAL
    assert t.cooldown_seconds == 1800.0
    assert (t.max_runs_per_day, t.timezone, t.check_interval_seconds) == (3, "Europe/London", 15)
    assert (t.window_start, t.window_end) == (time(10, 0), time(15, 0))
    assert t.calendar.frequency is Frequency.WEEKLY
    assert (t.calendar.weekday, t.calendar.at) == (4, time(14, 30))


@pytest.mark.parametrize(
    ("calendar", "expected"),
    [
        ({"frequency": "monthly", "day": 31}, ("day_of_month", 31)),
        ({"frequency": "quarterly", "day": 15}, ("day_of_month", 15)),
        ({"frequency": "annually", "day": "12-15"}, ("month_day", (12, 15))),
        ({"frequency": "weekly", "day": "Wednesday"}, ("weekday", 2)),
        ({"frequency": "daily"}, ("frequency", Frequency.DAILY)),
    ],
)
def test_calendar_day_forms(calendar: dict[str, Any], expected: tuple[str, Any]) -> None:
    c = parse_config(merged({"trigger": {"calendar": calendar}}))
    assert getattr(c.trigger.calendar, expected[0]) == expected[1]


def test_covariance_is_symmetric_and_falsy_options_mean_none() -> None:
    c = parse_config(
        merged(
            {
                "cost": {"covariance": {"VTI,BND": 4e-5, "VTI,VTI": 1e-4, "BND,VTI": 4e-5},
                         "default_adv": False},
                "planner": {"top_k": False},
                "broker": {"rest_url": "http://127.0.0.1:8800", "data_url": False},
            }
        )
    )  # fmt: skip
    assert c.cost.covariance == {("VTI", "BND"): 4e-5, ("BND", "VTI"): 4e-5,
                                 ("VTI", "VTI"): 1e-4}  # fmt: skip
    assert c.cost.default_adv is None and c.planner.top_k is None
    assert c.broker.rest_url == "http://127.0.0.1:8800" and c.broker.data_url is None


SECTIONS: dict[str, tuple[type, dict[str, str]]] = {
    "trigger": (TriggerConfig, {}),
    "cost": (CostConfig, {}),
    "planner": (
        PlannerConfig, {"limit_offset": "limit_offset_bps", "max_spread": "max_spread_bps"}
    ),
    "execution": (ExecutionConfig, {}),
    "broker": (BrokerConfig, {}),
    "daemon": (DaemonConfig, {}),
}


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_field_is_documented_in_the_example_and_is_settable(section: str) -> None:
    """The annotated example sets every field of every section: if a field is added to
    ``daemon.core.config.values`` without parser support or documentation, this fails."""
    example = tomllib.loads((ROOT / "deploy" / "rebalanced.example.toml").read_text())
    cls, renames = SECTIONS[section]
    for f in fields(cls):
        assert renames.get(f.name, f.name) in example[section], f"{section}.{f.name}"
    for key in ("cash_target", "cash_buffer", "not_in_targets", "excluded", "cash_band"):
        assert key in example["portfolio"]
    assert set(example["assets"]["VNQ"]) == {
        "fractional", "sigma", "adv", "expected_return", "max_spread_bps"
    }
    assert set(example["bands"]) >= {"absolute", "relative", "rule", "overrides"}


def test_every_non_default_value_reaches_config() -> None:
    """A value different from the default in each of these sections lands in the Config."""
    changes = {
        "execution": {"orders_per_minute": 30, "burst": 2, "max_in_flight": 3,
                      "order_timeout_seconds": 9, "lookup_delay_seconds": 0.5,
                      "cancel_open_on_shutdown": True, "max_rounds": 5},
        "broker": {"kind": "alpaca", "paper": False, "feed": "sip",
                   "stream_url": "wss://example.invalid/stream",
                   "trade_stream_url": "ws://127.0.0.1:1/t", "requests_per_minute": 100,
                   "rate_headroom": 0.2, "request_timeout_seconds": 3,
                   "stale_after_seconds": 12},
        "daemon": {"state_dir": "/tmp/x", "http_host": "0.0.0.0", "http_port": 8080,
                   "log_format": "json", "log_level": "debug",
                   "reconcile_interval_seconds": 60, "drain_deadline_seconds": 0,
                   "queue_size": 5, "dry_run": True},
        "cost": {"gate": False, "commission_bps": 1.5, "impact_coefficient": 0.7,
                 "default_sigma": 0.02, "default_adv": 1e6, "default_half_spread_bps": 3,
                 "risk_aversion": 4, "horizon_days": 10},
        "planner": {"market_orders": True, "max_quote_age_seconds": 2,
                    "whole_share_leftover": "spread"},
    }  # fmt: skip
    c = parse_config(merged(changes))
    for section, values in changes.items():
        obj = getattr(c, section)
        for key, value in values.items():
            assert getattr(obj, key) == value, f"{section}.{key}"


def test_the_new_cost_and_planner_keys_convert_their_units() -> None:
    c = parse_config(merged({
        "cost": {"expected_return": 7, "cash_return": 3.5},
        "planner": {"max_spread_bps": 25},
        "assets": {"VNQ": {"expected_return": 9, "max_spread_bps": 80}},
    }))  # fmt: skip
    assert (c.cost.expected_return, c.cost.cash_return) == (0.07, 0.035)
    assert c.planner.max_spread == 0.0025
    vnq = c.asset("VNQ")
    assert vnq is not None and (vnq.expected_return, vnq.max_spread) == (0.09, 0.008)
    d = parse_config(merged({}))
    assert (d.cost.horizon_days, d.cost.expected_return, d.planner.max_spread) == (
        252.0, 0.05, 0.005
    )


# --- bad input: one problem each ----------------------------------------------------------

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown key", {"trigger": {"cooldown_minuts": 5}}, "trigger.cooldown_minuts",
     "did you mean 'cooldown_minutes'"),
    ("unknown section", {"planer": {}}, "planer", "did you mean 'planner'"),
    ("string for number", {"bands": {"absolute": "5"}}, "bands.absolute",
     "write the number without quotes"),
    ("bool for number", {"cost": {"commission_bps": True}}, "cost.commission_bps",
     "expected a number"),
    ("float for int", {"execution": {"burst": 2.5}}, "execution.burst", "whole number"),
    ("nan", {"cost": {"risk_aversion": math.nan}}, "cost.risk_aversion", "finite"),
    ("weights", {"portfolio": {"targets": {"VNQ": 6.5}}}, "portfolio.targets",
     "weights sum to 98.5 % (assets 96.5 % + cash 2 %); they must sum to 100 %: adjust a "
     "target or cash_target"),
    ("negative weight", {"portfolio": {"targets": {"VNQ": -8, "GLD": 16}}},
     "portfolio.targets.VNQ", "cannot be negative"),
    ("duplicate symbol", {"portfolio": {"targets": {"VNQ": 4, "vnq": 4}}},
     "portfolio.targets.vnq", "duplicate symbol"),
    ("lowercase ticker", {"portfolio": {"targets": {"VNQ": DELETE, "vnq": 8}}},
     "portfolio.targets.vnq", "uppercase, 'VNQ'"),
    ("bad ticker", {"portfolio": {"targets": {"VNQ": DELETE, "V N$": 8}}},
     "portfolio.targets.V N$", "not a valid ticker"),
    ("CASH reserved", {"portfolio": {"targets": {"VNQ": DELETE, "CASH": 8}}},
     "portfolio.targets.CASH", "reserved"),
    ("target and excluded", {"portfolio": {"excluded": ["TSLA", "VTI"]}},
     "portfolio.excluded[1]", "both a target and excluded"),
    ("override for non-target", {"bands": {"overrides": {"GLD": {"absolute": 2}}}},
     "bands.overrides.GLD", "not a target"),
    ("assets for non-target", {"assets": {"VTl": {"fractional": False}}}, "assets.VTl",
     "did you mean 'VTI'"),
    ("band zero", {"bands": {"relative": 0}}, "bands.relative", "must be > 0"),
    ("band negative override", {"bands": {"overrides": {"BND": {"absolute": -1}}}},
     "bands.overrides.BND.absolute", "must be > 0"),
    ("absolute rule without width", {"bands": {"relative": 25, "rule": "absolute"}},
     "bands.rule", "no absolute width"),
    ("relative rule without width", {"portfolio": {"cash_band": {"relative": False,
     "rule": "relative"}}}, "portfolio.cash_band.rule", "no relative width"),
    ("no widths", {"bands": {"absolute": False, "relative": False}}, "bands",
     "neither an absolute nor a relative width"),
    ("bad rule", {"bands": {"rule": "eithr"}}, "bands.rule", "did you mean 'either'"),
    ("window reversed", {"trigger": {"window_start": "15:00", "window_end": "10:00"}},
     "trigger.window_end", "window_start must be earlier"),
    ("bad clock", {"trigger": {"window_start": "9.35"}}, "trigger.window_start", "HH:MM"),
    ("cooldown twice", {"trigger": {"cooldown_seconds": 60, "cooldown_minutes": 1}},
     "trigger.cooldown_minutes", "given twice"),
    ("cash over 100", {"portfolio": {"cash_target": 60, "cash_buffer": 50,
     "targets": {"VTI": 40, "VXUS": DELETE, "BND": DELETE, "VNQ": DELETE}}},
     "portfolio.cash_buffer", "exceeds 100 %"),
    ("participation zero", {"planner": {"participation_cap": 0}}, "planner.participation_cap",
     "must be > 0"),
    ("participation over", {"planner": {"participation_cap": 101}},
     "planner.participation_cap", "≤ 100"),
    ("top_k", {"planner": {"top_k": 0}}, "planner.top_k", "≥ 1"),
    ("offset negative", {"planner": {"limit_offset_bps": -1}}, "planner.limit_offset_bps",
     "≥ 0"),
    ("offset big", {"planner": {"limit_offset_bps": 501}}, "planner.limit_offset_bps",
     "≤ 500"),
    ("runs per day", {"trigger": {"max_runs_per_day": 0}}, "trigger.max_runs_per_day", "≥ 1"),
    ("timezone", {"trigger": {"timezone": "America/Nowhere"}}, "trigger.timezone",
     "not a known time zone"),
    ("broker kind", {"broker": {"kind": "ib"}}, "broker.kind", "sim | alpaca"),
    ("broker feed", {"broker": {"feed": "SIP"}}, "broker.feed", "did you mean 'sip'"),
    ("url", {"broker": {"rest_url": "localhost:8800"}}, "broker.rest_url", "http://"),
    ("port high", {"daemon": {"http_port": 65536}}, "daemon.http_port", "≤ 65535"),
    ("port zero", {"daemon": {"http_port": 0}}, "daemon.http_port", "≥ 1"),
    ("log format", {"daemon": {"log_format": "text"}}, "daemon.log_format", "json"),
    ("log level", {"daemon": {"log_level": "warn"}}, "daemon.log_level",
     "did you mean 'warning'"),
    ("day of month", {"trigger": {"calendar": {"frequency": "monthly", "day": 32}}},
     "trigger.calendar.day", "1..31"),
    ("weekday", {"trigger": {"calendar": {"frequency": "weekly", "day": "Sunday"}}},
     "trigger.calendar.day", '"Monday".."Friday"'),
    ("month-day", {"trigger": {"calendar": {"frequency": "annually", "day": "02-30"}}},
     "trigger.calendar.day", "MM-DD"),
    ("daily with day", {"trigger": {"calendar": {"frequency": "daily", "day": 1}}},
     "trigger.calendar.day", "takes no day"),
    ("calendar outside window", {"trigger": {"calendar": {"time": "08:00"}}},
     "trigger.calendar.time", "outside the trading window"),
    ("threshold with calendar", {"trigger": {"mode": "threshold", "calendar": {}}},
     "trigger.calendar", "ignores the calendar"),
    ("covariance non-target", {"cost": {"covariance": {"VTI,GLD": 1e-5}}},
     'cost.covariance."VTI,GLD"', "GLD is not a target"),
    ("covariance asymmetric", {"cost": {"covariance": {"VTI,BND": 1e-5, "BND,VTI": 2e-5}}},
     'cost.covariance."BND,VTI"', "symmetric"),
    ("covariance pair", {"cost": {"covariance": {"VTI": 1e-5}}}, 'cost.covariance."VTI"',
     '"A,B"'),
    ("max spread zero", {"planner": {"max_spread_bps": 0}}, "planner.max_spread_bps",
     "must be > 0"),
    ("max spread too wide", {"planner": {"max_spread_bps": 20000}}, "planner.max_spread_bps",
     "≤ 10000"),
    ("asset max spread", {"assets": {"VNQ": {"max_spread_bps": -5}}},
     "assets.VNQ.max_spread_bps", "must be > 0"),
    ("expected return", {"cost": {"expected_return": 150}}, "cost.expected_return", "≤ 100"),
    ("cash return", {"cost": {"cash_return": -101}}, "cost.cash_return", "≥ -100"),
    ("asset expected return", {"assets": {"VNQ": {"expected_return": 101}}},
     "assets.VNQ.expected_return", "≤ 100"),
    ("whole-share leftover", {"planner": {"whole_share_leftover": "bonds"}},
     "planner.whole_share_leftover", "cash"),
    ("table expected", {"trigger": 5}, "trigger", "expected a table"),
    ("bool expected", {"cost": {"gate": "yes"}}, "cost.gate", "true or false"),
    ("no portfolio", {"portfolio": DELETE}, "portfolio", "missing"),
    ("empty targets", {"portfolio": {"targets": {"VTI": DELETE, "VXUS": DELETE,
     "BND": DELETE, "VNQ": DELETE}}}, "portfolio.targets", "is empty"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "changes", "path", "text"), CASES, ids=[c[0] for c in CASES])
def test_each_bad_input_is_one_clear_problem(
    name: str, changes: dict[str, Any], path: str, text: str
) -> None:
    found = problems(changes)
    assert len(found) == 1, "\n".join(map(str, found))
    assert found[0].path == path
    assert text in found[0].message


@pytest.mark.parametrize("key", ["api_key", "secret_key", "APCA_API_SECRET_KEY", "key_id"])
def test_secrets_in_the_file_are_refused_without_echoing_them(key: str) -> None:
    secret = "PKSUPERSECRET12345"
    with pytest.raises(ConfigError) as info:
        parse_config(merged({"broker": {key: secret}}))
    text = str(info.value)
    assert secret not in text and secret not in repr(info.value.problems)
    assert info.value.problems[0].path == f"broker.{key}"
    assert "APCA_API_KEY_ID" in text and "environment" in text


def test_all_problems_are_collected_and_listed_one_per_line() -> None:
    changes = {
        "portfolio": {"cash_target": "2"},
        "bands": {"absolute": 0},
        "trigger": {"timezone": "Nowhere/City", "max_runs_per_day": 0},
        "planner": {"top_k": 0},
        "broker": {"kind": "x", "secret_key": "hush"},
        "daemon": {"http_port": 0, "log_level": "loud"},
    }
    with pytest.raises(ConfigError) as info:
        parse_config(merged(changes))
    paths = [p.path for p in info.value.problems]
    assert sorted(paths) == sorted([
        "portfolio.cash_target", "bands.absolute", "trigger.timezone",
        "trigger.max_runs_per_day", "planner.top_k", "broker.kind", "broker.secret_key",
        "daemon.http_port", "daemon.log_level",
    ])  # fmt: skip
    lines = str(info.value).splitlines()
    assert lines == [f"{p.path}: {p.message}" for p in info.value.problems]


def test_toml_syntax_error_names_the_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config_text("[portfolio]\ncash_target = = 2\n")
    assert "line 2" in str(info.value)


def test_parse_config_text_round_trip() -> None:
    text = (ROOT / "examples" / "demo.toml").read_text()
    c = parse_config_text(text)
    assert isinstance(c, Config) and c.broker.kind == "sim"
    assert set(c.symbols) == {"VTI", "VXUS", "BND", "GLD"}


# --- properties ---------------------------------------------------------------------------

SYMBOLS = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=6))
def test_weights_summing_to_100_parse_and_others_do_not(raw: list[int]) -> None:
    """Weights in hundredths of a percent: exactly 100 % parses (fractions sum to 1),
    anything else is the one "weights sum" problem."""
    total = sum(raw)
    targets = {s: w / 100 for s, w in zip(SYMBOLS, raw, strict=False)}
    cash = 100 - total / 100
    data = {"portfolio": {"cash_target": max(cash, 0.0), "targets": targets}}
    if 0 <= cash <= 100:
        c = parse_config(data)
        weights = math.fsum(a.target for a in c.portfolio.assets) + c.portfolio.cash_target
        assert weights == pytest.approx(1.0, abs=1e-9)
    else:
        with pytest.raises(ConfigError) as info:
            parse_config(data)
        assert [p.path for p in info.value.problems] == ["portfolio.targets"]
        assert "must sum to 100 %" in info.value.problems[0].message


@settings(max_examples=40, deadline=None)
@given(st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False))
def test_money_parses_to_the_decimal_written(amount: Decimal) -> None:
    value = float(amount)
    c = parse_config(merged({"cost": {"commission_per_order": value}}))
    assert c.cost.commission_per_order == Decimal(str(value))
    assert c.cost.commission_per_order == amount


@pytest.mark.parametrize("ratio", [0, 1.25, 2, 100])
def test_split_suspect_ratio_is_a_factor_above_one_or_zero(ratio: float) -> None:
    cfg = parse_config(merged({"planner": {"split_suspect_ratio": ratio}}))
    assert cfg.planner.split_suspect_ratio == ratio


@pytest.mark.parametrize("ratio", [0.5, 1, -1, 101])
def test_split_suspect_ratio_at_or_below_one_is_refused(ratio: float) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(merged({"planner": {"split_suspect_ratio": ratio}}))
    assert "planner.split_suspect_ratio" in str(err.value)
