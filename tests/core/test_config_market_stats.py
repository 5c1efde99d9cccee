"""The [market_stats] section: defaults, every key settable, strict validation."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.core.config.fields import ConfigError
from daemon.core.config.reader import parse_config
from daemon.core.config.values import MarketStatsConfig

BASE: dict[str, Any] = {"portfolio": {"targets": {"VTI": 60, "BND": 40}}}


def parse(section: dict[str, Any]) -> MarketStatsConfig:
    return parse_config({**BASE, "market_stats": section}).market_stats


def test_defaults_when_the_section_is_absent() -> None:
    assert parse_config(BASE).market_stats == MarketStatsConfig()
    d = MarketStatsConfig()
    assert (d.enabled, d.lookback_days, d.adv_days, d.min_observations) == (True, 252, 20, 60)
    assert (d.refresh_interval_seconds, d.retry_seconds) == (86400.0, 300.0)


def test_every_key_is_settable() -> None:
    got = parse({"enabled": False, "lookback_days": 126, "adv_days": 10,
                 "min_observations": 40, "refresh_interval_seconds": 3600,
                 "retry_seconds": 60})  # fmt: skip
    assert got == MarketStatsConfig(False, 126, 10, 40, 3600.0, 60.0)


@pytest.mark.parametrize(
    ("section", "path", "fragment"),
    [
        ({"lookback": 100}, "market_stats.lookback", "unknown key"),
        ({"enabled": "yes"}, "market_stats.enabled", "true or false"),
        ({"lookback_days": 1}, "market_stats.lookback_days", "≥ 2"),
        ({"lookback_days": 25.5}, "market_stats.lookback_days", "whole number"),
        ({"adv_days": 0}, "market_stats.adv_days", "≥ 1"),
        ({"lookback_days": 30}, "market_stats.min_observations", "can never hold more"),
        ({"min_observations": 1}, "market_stats.min_observations", "≥ 2"),
        ({"refresh_interval_seconds": 10}, "market_stats.refresh_interval_seconds", "≥ 60"),
        ({"retry_seconds": 0}, "market_stats.retry_seconds", "≥ 1"),
        ({"refresh_interval_seconds": 600, "retry_seconds": 900},
         "market_stats.retry_seconds", "≤ 600"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(
    section: dict[str, Any], path: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse(section)
    problems = {p.path: p.message for p in err.value.problems}
    assert path in problems, problems
    assert fragment in problems[path]
