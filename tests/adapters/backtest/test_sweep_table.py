"""``[backtest.sweep]`` in the config file: the same grid as ``--sweep SPEC``, checked
strictly by ``rebalanced check-config`` (unknown keys, wrong types, out-of-range values,
each at its key path and index)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from daemon.cli_backtest import main
from daemon.cli_config import main as check_config
from daemon.core.config.reader import ConfigError, parse_config_text
from tests.adapters.backtest.series import TWO_ASSETS_MONTHLY

BASE = TWO_ASSETS_MONTHLY

TABLE = """
[backtest.sweep]
trigger.mode = ["calendar", "threshold"]
bands.absolute = [3, 5]
"""


def problems(sweep: str) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config_text(BASE + "[backtest.sweep]\n" + sweep)
    return [str(p) for p in exc.value.problems]


def test_the_table_is_read_in_file_order() -> None:
    cfg = parse_config_text(
        BASE + TABLE + 'cost.gate = [true, false]\n"planner.target_mode" = ["target"]\n'
    )
    assert cfg.backtest.axes() == (
        ("trigger.mode", ("calendar", "threshold")),
        ("bands.absolute", (3, 5)),
        ("cost.gate", (True, False)),
        ("planner.target_mode", ("target",)),
    )
    assert cfg.backtest.points == 8
    assert cfg.backtest.sweep[0] == ("trigger.mode", ('"calendar"', '"threshold"'))
    assert parse_config_text(BASE).backtest.sweep == ()


@pytest.mark.parametrize(
    ("sweep", "expected"),
    [
        ("trigger.mod = ['calendar']", ['backtest.sweep.trigger.mod[0]: "calendar": unknown key']),
        ("bands.absolute = [3, -1, 'wide']", ["backtest.sweep.bands.absolute[1]: -1:",
                                             'backtest.sweep.bands.absolute[2]: "wide":']),
        ("cost.gate = [true, 3]", ["backtest.sweep.cost.gate[1]: 3:"]),
        ("bands.absolute = 3", ["backtest.sweep.bands.absolute: expected an array"]),
        ("bands.absolute = []", ["backtest.sweep.bands.absolute: is an empty array"]),
        ("trigger.calendar.frequency = ['fortnightly']",
         ['backtest.sweep.trigger.calendar.frequency[0]: "fortnightly":']),
        ("planner.participation_cap = [0, 50, 101]",
         ["backtest.sweep.planner.participation_cap[0]: 0:",
          "backtest.sweep.planner.participation_cap[2]: 101:"]),
        ("backtest.sweep = [1]", ["backtest.sweep.backtest.sweep: the sweep cannot vary"]),
        ("bands.absolute = [3, [4]]", ["backtest.sweep.bands.absolute[1]: is an array"]),
    ],
)  # fmt: skip
def test_bad_values_are_reported_at_their_key_path(sweep: str, expected: list[str]) -> None:
    got = problems(sweep)
    assert len(got) == len(expected), got
    for line, want in zip(got, expected, strict=True):
        assert line.startswith(want), got


def test_other_problems_of_the_table() -> None:
    with pytest.raises(ConfigError, match=r"backtest.sweep: expected a table"):
        parse_config_text(BASE + "[backtest]\nsweep = 3\n")
    with pytest.raises(ConfigError, match=r"backtest.swep: unknown key"):
        parse_config_text(BASE + "[backtest.swep]\nbands.absolute = [3]\n")
    with pytest.raises(ConfigError, match=r"backtest.sweep: is empty"):
        parse_config_text(BASE + "[backtest.sweep]\n")
    absolute, relative = list(range(1, 101)), list(range(1, 102))
    with pytest.raises(ConfigError, match=r"backtest.sweep: 10100 combinations; at most 10000"):
        parse_config_text(
            BASE + f"[backtest.sweep]\nbands.absolute = {absolute}\nbands.relative = {relative}\n"
        )


def test_check_config_accepts_and_refuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(BASE + TABLE)
    bad.write_text(BASE + TABLE + "cost.gate = ['yes']\n")
    assert check_config([str(good)]) == 0
    assert (
        "backtest sweep of 4 combinations (trigger.mode, bands.absolute)" in capsys.readouterr().out
    )
    assert check_config([str(bad)]) == 78
    err = capsys.readouterr().err
    assert "1 problem" in err and 'backtest.sweep.cost.gate[0]: "yes":' in err


def test_the_table_runs_the_same_grid_as_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(BASE + TABLE)
    dates = pd.bdate_range("2015-01-01", periods=600)
    rng = np.random.default_rng(5)
    px = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, (len(dates), 2)), axis=0))
    prices = tmp_path / "p.csv"
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "AAA": px[:, 0], "BBB": px[:, 1]}).to_csv(
        prices, index=False
    )
    common = ["--config", str(cfg), "--prices", str(prices), "--json", "--jobs", "1"]
    assert main([*common, "--sweep"]) == 0
    from_table = json.loads(capsys.readouterr().out)
    spec = "trigger.mode=calendar,threshold;bands.absolute=3,5"
    assert main([*common, "--sweep", spec]) == 0
    from_line = json.loads(capsys.readouterr().out)
    assert from_table == from_line and len(from_table) == 4
    assert {(r["parameters"]["trigger.mode"], r["parameters"]["bands.absolute"])
            for r in from_table} == {("calendar", 3), ("calendar", 5), ("threshold", 3),
                                     ("threshold", 5)}  # fmt: skip
    results = [r["result"]["final_value"] for r in from_table]
    assert len(set(results)) > 1  # the points differ: the grid reached the config

    cfg.write_text(BASE)
    assert main([*common, "--sweep"]) == 64
    assert "needs a [backtest.sweep] table" in capsys.readouterr().err


def test_a_config_with_a_sweep_journals_exactly() -> None:
    from datetime import UTC, datetime

    from adapters.store import codec
    from daemon.core.events import ConfigReloaded

    cfg = parse_config_text(
        BASE + TABLE + 'cost.gate = [true, false]\n"trigger.timezone" = ["Europe/Zurich"]\n'
        "cost.default_half_spread_bps = [0.5, 1e-3]\n"
    )
    event = ConfigReloaded(datetime(2026, 1, 2, 15, tzinfo=UTC), cfg)
    back = codec.loads("ConfigReloaded", codec.dumps(event))
    assert back == event
    axes = dict(back.config.backtest.axes())
    assert axes["trigger.timezone"] == ("Europe/Zurich",)
    assert axes["cost.default_half_spread_bps"] == (0.5, 1e-3)
