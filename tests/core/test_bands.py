import pytest

from daemon.core.config.values import Band, BandRule
from daemon.core.triggers.bands import band_limits, half_width


def test_five_twenty_five_rule_takes_the_narrower_band() -> None:
    band = Band(absolute=0.05, relative=0.25, rule=BandRule.EITHER)
    assert half_width(0.40, band) == pytest.approx(0.05)  # 25 % of 40 = 10 pp > 5 pp
    assert half_width(0.10, band) == pytest.approx(0.025)  # 25 % of 10 = 2.5 pp < 5 pp
    assert band_limits(0.10, band) == pytest.approx((0.075, 0.125))


def test_single_rules() -> None:
    assert half_width(0.40, Band(0.05, 0.25, BandRule.ABSOLUTE)) == pytest.approx(0.05)
    assert half_width(0.40, Band(0.05, 0.25, BandRule.RELATIVE)) == pytest.approx(0.10)
    with pytest.raises(ValueError, match="absolute"):
        half_width(0.4, Band(None, 0.25, BandRule.ABSOLUTE))


def test_zero_target_uses_the_absolute_width() -> None:
    # a zero cash target must not give a [0, 0] band (every leftover cent out of band)
    assert band_limits(0.0, Band(0.05, 0.25, BandRule.EITHER)) == pytest.approx((0.0, 0.05))
    assert band_limits(0.0, Band(0.02, 0.25, BandRule.RELATIVE)) == pytest.approx((0.0, 0.02))
    assert half_width(0.0, Band(None, 0.25, BandRule.EITHER)) == 0.0  # relative-only: no width


def test_limits_are_clamped_to_zero_and_one() -> None:
    assert band_limits(0.98, Band(0.05, None, BandRule.ABSOLUTE)) == pytest.approx((0.93, 1.0))


def test_config_rejects_a_relative_only_band_around_zero_cash() -> None:
    from daemon.core.config.reader import ConfigError, parse_config_text

    text = """
[portfolio]
cash_target = 0
[portfolio.targets]
VTI = 60
BND = 40
[bands]
relative = 25
"""
    with pytest.raises(ConfigError) as err:
        parse_config_text(text)
    assert [p.path for p in err.value.problems] == ["portfolio.cash_band"]
    fixed = text + "[portfolio.cash_band]\nabsolute = 1\n"
    assert parse_config_text(fixed).portfolio.cash_band.absolute == pytest.approx(0.01)
