"""Every configuration number has a documented range, and values outside it (or absurd in
any key: 1e308, 1e-300, NaN, inf, 2^63, deep nesting) are refused by ``check-config`` with
exit 78 naming the key."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.core.config.ranges import RANGES
from daemon.core.config.reader import ConfigError, parse_config_text

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "deploy" / "rebalanced.example.toml"
BIN = Path(sys.executable).parent / "rebalanced"


def _with(key_path: str, value: str) -> str:
    """The example file with ``key = value`` set in its section (added when absent)."""
    section, key = key_path.rsplit(".", 1)
    text = EXAMPLE.read_text()
    pattern = re.compile(rf"^(\[{re.escape(section)}\]\n(?:(?!\[).*\n)*?){key} = .*$", re.M)
    if pattern.search(text):
        return pattern.sub(lambda m: f"{m.group(1)}{key} = {value}", text, count=1)
    return text.replace(f"[{section}]\n", f"[{section}]\n{key} = {value}\n", 1)


def test_every_ranged_key_documents_its_range_in_the_example() -> None:
    text = EXAMPLE.read_text()
    for path in RANGES:
        key = path.rsplit(".", 1)[1]
        block = re.search(rf"((?:^#.*\n)+)#?\s*{key} = ", text, re.M)
        assert block and "Range:" in block.group(1) + text[block.end():block.end() + 120], path


@pytest.mark.parametrize("path", sorted(RANGES))
def test_outside_the_range_is_refused_naming_the_key(path: str) -> None:
    lo, hi = RANGES[path]
    integer = float(lo).is_integer() and float(hi).is_integer() and hi < 1e7
    too_big = str(int(hi) + 1) if integer else repr(float(hi) * 10)
    if path.endswith("cooldown_minutes"):
        text = _with(path, too_big).replace("cooldown_seconds = 3600\n", "")
    else:
        text = _with(path, too_big)
    with pytest.raises(ConfigError) as err:
        parse_config_text(text)
    assert path in str(err.value), str(err.value)
    parse_config_text(_with(path, str(int(hi)) if integer else repr(float(hi)))
                      .replace("cooldown_seconds = 3600\n", "")
                      if path.endswith("cooldown_minutes") else _with(path, repr(hi)))


@pytest.mark.parametrize("value", ["1e308", "1e-300", "nan", "inf", "-inf", "1e400",
                                   "9223372036854775807"])
@pytest.mark.parametrize("path", ["trigger.check_interval_seconds", "daemon.queue_size",
                                  "cost.commission_per_order", "portfolio.cash_buffer",
                                  "bands.absolute"])
def test_absurd_numbers_anywhere_are_refused(path: str, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config_text(_with(path, value))
    assert path in str(err.value), str(err.value)


def test_check_config_answers_deep_nesting_and_absurd_numbers_with_78(tmp_path: Path) -> None:
    for name, text in {
        "deep.toml": EXAMPLE.read_text() + "\nx = " + "[" * 5000 + "]" * 5000 + "\n",
        "tables.toml": EXAMPLE.read_text() + "\n[" + ".".join(["a"] * 5000) + "]\n",
        "tiny.toml": _with("trigger.check_interval_seconds", "1e-300"),
        "queue.toml": _with("daemon.queue_size", "9223372036854775807"),
    }.items():
        path = tmp_path / name
        path.write_text(text)
        out = subprocess.run([str(BIN), "check-config", str(path)], capture_output=True,
                             text=True, timeout=60, cwd=ROOT)
        assert out.returncode == 78, (name, out.stdout[-500:], out.stderr[-1500:])
        assert "Traceback" not in out.stdout + out.stderr, name
