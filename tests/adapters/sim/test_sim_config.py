from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.sim.sim_clock import ClockMode
from adapters.sim.sim_config import SimConfigError, load_sim_config, parse_sim_config

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sim.toml"


def test_example_config_loads() -> None:
    cfg = load_sim_config(EXAMPLE)
    assert cfg.seed == 42 and cfg.starting_cash == Decimal("100000")
    assert cfg.clock.mode is ClockMode.ACCELERATED and cfg.clock.speed == 60
    assert cfg.clock.start == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    assert cfg.symbols["GLD"].fractionable is False
    assert cfg.positions["AGG"].qty == Decimal("150.5")
    f = cfg.initial_faults()
    assert f.partial_fill_probability == 0.1 and f.reject_next == 0


def base(**kw: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"clock": {"start": "2026-11-23T14:30:00Z"}, "symbols": {"SPY": {}}}
    raw.update(kw)
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"clock": {"start": "2026-11-23T14:30:00Z"}}, r"\[symbols\] is missing"),
        (base(colour="red"), "unknown simulator config key"),
        (base(symbols={"SPY": {"prize": 1}}), "symbols.SPY: unknown key"),
        (base(symbols={"SPY": {"price": "abc"}}), "symbols.SPY.price must be a number"),
        (base(symbols={"SPY": {"price": -1}}), "price must be > 0"),
        (base(symbols={"SPY": {"quote_rate": 0}}), "quote_rate must be > 0"),
        (base(positions={"QQQ": {"qty": "1"}}), "positions.QQQ: QQQ is not under"),
        (base(positions={"SPY": {"qty": "x"}}), "positions.SPY.qty must be a decimal"),
        (base(clock={"mode": "warp"}), "clock.mode 'warp' is unknown"),
        (base(clock={"mode": "stepped"}), "clock.start is required"),
        (base(clock={"start": "2026-11-23T14:30:00"}), "with an offset"),
        (base(partial_fill_probability=2), "between 0 and 1"),
        (base(faults={"explode": True}), "unknown fault 'explode'"),
        (base(symbols={"SPY": {"csv": "/nonexistent.csv"}}), "does not exist"),
    ],
)
def test_bad_configs_name_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(SimConfigError, match=message):
        parse_sim_config(raw)


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(SimConfigError, match="does not exist"):
        load_sim_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = [")
    with pytest.raises(SimConfigError, match="not valid TOML"):
        load_sim_config(bad)


def test_relative_csv_resolves_next_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text("timestamp,bid,ask\n2026-11-23T14:30:00Z,1,1.01\n")
    (tmp_path / "sim.toml").write_text(
        'seed = 1\n[clock]\nstart = 2026-11-23T14:30:00Z\n[symbols.Q]\ncsv = "q.csv"\n'
    )
    cfg = load_sim_config(tmp_path / "sim.toml")
    assert cfg.symbols["Q"].csv == str(tmp_path / "q.csv")


def test_api_keys_from_config_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    assert parse_sim_config(base()).api_keys() is None
    monkeypatch.setenv("APCA_API_KEY_ID", "env-id")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "env-secret")
    assert parse_sim_config(base()).api_keys() == ("env-id", "env-secret")
    cfg = parse_sim_config(base(api={"key_id": "k", "secret_key": "s"}))
    assert cfg.api_keys() == ("k", "s")
