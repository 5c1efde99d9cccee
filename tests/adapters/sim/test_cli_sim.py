"""``rebalanced sim`` as a real child process: it prints the URLs, serves alpaca-py,
stops cleanly on SIGTERM, and rejects bad input with a clear message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from alpaca.trading.client import TradingClient

from adapters.sim.testing import SimProcess, free_port

ROOT = Path(__file__).resolve().parents[3]

SIM_TOML = """
seed = 3
starting_cash = "50000"
[clock]
mode = "stepped"
start = "2026-11-23T14:35:00Z"
[symbols.SPY]
price = 600.0
[symbols.AGG]
price = 98.0
"""


def write_config(tmp_path: Path, text: str = SIM_TOML) -> Path:
    p = tmp_path / "sim.toml"
    p.write_text(text)
    return p


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", "sim", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("APCA_")},
    )  # fmt: skip


def test_serves_alpaca_py_and_stops_on_sigterm(tmp_path: Path) -> None:
    sim = SimProcess(write_config(tmp_path), key_id="cli-key", secret="cli-secret")
    with sim:
        client = TradingClient("cli-key", "cli-secret", url_override=sim.base_url)
        assert client.get_account().cash == "50000"
        assert client.get_clock().is_open
        wrong = TradingClient("cli-key", "nope", url_override=sim.base_url)
        try:
            wrong.get_account()
            raise AssertionError("a wrong secret must be refused")
        except Exception as e:
            assert getattr(e, "status_code", None) == 401
        assert sim.proc is not None
        sim.proc.send_signal(signal.SIGTERM)
        code = sim.proc.wait(15)
        out = sim.proc.stdout.read() if sim.proc.stdout else ""
    assert code == 0
    assert f"http://127.0.0.1:{sim.port}" in out
    assert f"ws://127.0.0.1:{sim.port}/v2/iex" in out and f"ws://127.0.0.1:{sim.port}/stream" in out
    assert "cli-secret" not in out and "cli-key" not in out  # no key material printed
    assert "stopped" in out


def test_bad_config_exits_78_naming_the_problem(tmp_path: Path) -> None:
    bad = write_config(tmp_path, "seed = 1\n[clock]\nmode = 'stepped'\n")
    r = run_cli("--port", str(free_port()), "--config", str(bad))
    assert r.returncode == 78
    assert "symbols" in r.stderr
    r = run_cli("--config", str(tmp_path / "missing.toml"))
    assert r.returncode == 78 and "does not exist" in r.stderr


def test_bad_arguments_exit_64(tmp_path: Path) -> None:
    r = run_cli("--port", "99999", "--config", str(write_config(tmp_path)))
    assert r.returncode == 64 and "not a TCP port" in r.stderr
    r = run_cli("--bogus")
    assert r.returncode == 64


FAULTS_TOML = """
[[http]]
action = "500"
path = "/v2/clock"
count = 1

[exchange]
reject_next = 1
"""


def test_faults_file_is_switched_on_at_start(tmp_path: Path) -> None:
    faults = tmp_path / "faults.toml"
    faults.write_text(FAULTS_TOML)
    with SimProcess(write_config(tmp_path), extra_args=("--faults", str(faults))) as sim:
        client = TradingClient(sim.key_id, sim.secret, url_override=sim.base_url)
        try:
            client.get_clock()
            raise AssertionError("the first /v2/clock must fail")
        except Exception as e:
            assert getattr(e, "status_code", None) == 500
        assert client.get_clock().is_open  # count was 1


def test_bad_faults_file_exits_78(tmp_path: Path) -> None:
    faults = tmp_path / "faults.toml"
    faults.write_text('[[http]]\naction = "418"\n')
    r = run_cli(
        "--port", str(free_port()), "--config", str(write_config(tmp_path)), "--faults", str(faults)
    )
    assert r.returncode == 78 and "418" in r.stderr
