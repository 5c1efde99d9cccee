"""``rebalanced run`` refuses to start, with exit 78 and a message naming the fix, when the
config is bad, the keys are missing, or the broker refuses the keys — and never prints a
key. 78 is the status systemd's unit does not restart on."""

import os
import subprocess
import sys
from pathlib import Path

from adapters.sim.testing import SimProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent / "rebalanced"
SIM_TOML = """
seed = 1
starting_cash = "10000"
[clock]
mode = "accelerated"
start = 2026-11-23T15:00:00Z
speed = 1
[symbols.VTI]
price = 300.0
[symbols.BND]
price = 72.0
"""


def _config(tmp_path: Path, broker: str) -> Path:
    path = tmp_path / "rebalanced.toml"
    path.write_text(f"""
[portfolio]
cash_target = 2
[portfolio.targets]
VTI = 60
BND = 38
[broker]
{broker}
[daemon]
state_dir = "{tmp_path / 'state'}"
http_port = {free_port()}
log_format = "json"
""")
    return path


def _run(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("APCA_")}
    clean.pop("CREDENTIALS_DIRECTORY", None)
    return subprocess.run([str(BIN), "run", "--config", str(config)], capture_output=True,
                          text=True, timeout=60, env={**clean, **env}, cwd=ROOT)


def test_bad_config_exits_78_and_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[portfolio]\ncash_target = 2\n[portfolio.targets]\nVTI = 60\n")
    out = _run(path, {})
    assert out.returncode == 78
    assert "weights sum to 62 %" in out.stderr
    assert not (tmp_path / "state").exists()  # nothing started


def test_missing_keys_for_alpaca_exit_78_naming_both_ways(tmp_path: Path) -> None:
    out = _run(_config(tmp_path, 'kind = "alpaca"\npaper = true'), {})
    assert out.returncode == 78
    assert "APCA_API_KEY_ID" in out.stderr and "LoadCredential" in out.stderr


def test_keys_refused_by_the_broker_exit_78_without_echoing_them(tmp_path: Path) -> None:
    sim_toml = tmp_path / "sim.toml"
    sim_toml.write_text(SIM_TOML)
    with SimProcess(sim_toml) as sim:
        broker = (f'kind = "sim"\nrest_url = "{sim.base_url}"\ndata_url = "{sim.base_url}"\n'
                  f'stream_url = "{sim.data_ws_url}"\ntrade_stream_url = "{sim.trade_ws_url}"')
        wrong = {"APCA_API_KEY_ID": "PKWRONGKEY0000000099", "APCA_API_SECRET_KEY": "wrongsecret99999999"}
        out = _run(_config(tmp_path, broker), wrong)
    assert out.returncode == 78, out.stdout[-2000:] + out.stderr[-2000:]
    assert "refused the API keys (HTTP 401)" in out.stderr
    everything = out.stdout + out.stderr
    assert "PKWRONGKEY0000000099" not in everything and "wrongsecret99999999" not in everything


def test_a_bad_linked_buys_file_exits_78_naming_the_file_and_row(tmp_path: Path) -> None:
    """The wash-sale guard must see a linked IRA's buys: a file with a bad row stops the start
    (running without it could make a harvested loss permanently disallowed)."""
    linked = tmp_path / "ira-buys.csv"
    linked.write_text("symbol,date,quantity\nVTI,2026-11-02,10\nBND,2026-11-03,-5\n")
    sim_toml = tmp_path / "sim.toml"
    sim_toml.write_text(SIM_TOML)
    with SimProcess(sim_toml) as sim:
        broker = (f'kind = "sim"\nrest_url = "{sim.base_url}"\ndata_url = "{sim.base_url}"\n'
                  f'stream_url = "{sim.data_ws_url}"\ntrade_stream_url = "{sim.trade_ws_url}"\n'
                  f'[tax]\naccount = "taxable"\nlinked_buys_file = "{linked}"')
        keys = {"APCA_API_KEY_ID": sim.key_id, "APCA_API_SECRET_KEY": sim.secret}
        out = _run(_config(tmp_path, broker), keys)
    assert out.returncode == 78, out.stdout[-2000:] + out.stderr[-2000:]
    assert "ira-buys.csv" in out.stderr and "refused" in out.stderr
    assert "row 3" in out.stderr, out.stderr
