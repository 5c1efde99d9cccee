"""``rebalanced check-config`` as a user runs it (a real subprocess of the installed entry
point), and ``load_config`` on real files, including the shipped examples."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli_config import main, summary
from daemon.config_file import EX_CONFIG, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "deploy" / "rebalanced.example.toml"
DEMO = ROOT / "examples" / "demo.toml"
REBALANCED = Path(sys.executable).parent / "rebalanced"

GOOD = """
[portfolio]
cash_target = 2
[portfolio.targets]
VTI = 40
VXUS = 20
BND = 30
VNQ = 8
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REBALANCED), "check-config", *args], capture_output=True, text=True, timeout=60
    )


def test_the_example_files_load() -> None:
    example = load_config(EXAMPLE)
    assert example.symbols == ("VTI", "VXUS", "BND", "VNQ")
    assert example.portfolio.cash_target == pytest.approx(0.02)
    assert example.bands.absolute == pytest.approx(0.05)
    assert example.bands.relative == pytest.approx(0.25)
    demo = load_config(DEMO)
    assert demo.broker.kind == "sim"
    assert set(demo.symbols) == {"VTI", "VXUS", "BND", "GLD"}
    assert demo.trigger.cooldown_seconds <= 60 and demo.trigger.check_interval_seconds <= 10
    assert demo.trigger.window_start.hour == 9 and demo.trigger.window_start.minute <= 30
    assert demo.trigger.window_end.hour >= 16


def test_cli_accepts_the_example_and_prints_a_summary() -> None:
    out = run(str(EXAMPLE))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("config OK: 4 assets + cash, hybrid trigger")
    assert out.stderr == ""


def test_cli_accepts_the_demo() -> None:
    out = run(str(DEMO))
    assert out.returncode == 0, out.stderr
    assert "broker sim" in out.stdout


def test_cli_lists_every_problem_and_exits_78(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        GOOD.replace("VNQ = 8", "VNQ = 6.5")
        + '[broker]\nkind = "ibkr"\nsecret_key = "TOPSECRETVALUE"\n'
        + "[daemon]\nhttp_port = 99999\n"
    )
    out = run(str(bad))
    assert out.returncode == EX_CONFIG == 78
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert lines[0] == f"{bad}: 4 problems:"
    assert any(
        line.strip().startswith("portfolio.targets: weights sum to 98.5 %") for line in lines
    )
    assert any(line.strip().startswith("broker.kind:") for line in lines)
    assert any(line.strip().startswith("broker.secret_key:") for line in lines)
    assert any(line.strip().startswith("daemon.http_port:") for line in lines)
    assert "TOPSECRETVALUE" not in out.stderr


def test_cli_missing_file_and_syntax_error_exit_78(tmp_path: Path) -> None:
    out = run(str(tmp_path / "nope.toml"))
    assert out.returncode == 78
    assert "file not found" in out.stderr
    broken = tmp_path / "broken.toml"
    text = GOOD + "[trigger\nmode = 1\n"
    broken.write_text(text)
    line = text.splitlines().index("[trigger") + 1
    out = run(str(broken))
    assert out.returncode == 78
    assert f"{broken}:{line}: TOML syntax error" in out.stderr


def test_cli_usage_errors() -> None:
    assert run().returncode == 64
    assert run("a.toml", "b.toml").returncode == 64
    out = run("--help")
    assert out.returncode == 0 and "check-config FILE" in out.stdout


def test_load_config_reports_unreadable_inputs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    latin = tmp_path / "latin1.toml"
    latin.write_bytes(b"# caf\xe9\n" + GOOD.encode())
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(latin)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_load_config_permission_denied(tmp_path: Path) -> None:
    f = tmp_path / "secret.toml"
    f.write_text(GOOD)
    f.chmod(0)
    with pytest.raises(ConfigError, match="permission denied"):
        load_config(f)


def test_main_in_process_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ok.toml"
    f.write_text(GOOD + '[trigger]\nmode = "threshold"\n[daemon]\ndry_run = true\n')
    assert main([str(f)]) == 0
    text = capsys.readouterr().out
    assert "threshold trigger (bands every 60 s" in text and "dry run" in text
    assert summary(load_config(f)) == text.strip()
