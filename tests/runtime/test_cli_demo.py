"""The README's main command: ``rebalanced demo`` runs the paper exchange and the daemon,
rebalances the drifted example portfolio, absorbs a price shock and stops cleanly."""

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "rebalanced"
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "demo.toml"


@pytest.mark.slow
def test_demo_rebalances_and_stops_cleanly(tmp_path: Path) -> None:
    # the shipped demo config with a 5 s cooldown, so the shock is rebalanced sooner
    text = DEMO_CONFIG.read_text()
    assert "cooldown_seconds = 20" in text
    config = tmp_path / "demo.toml"
    config.write_text(text.replace("cooldown_seconds = 20", "cooldown_seconds = 5"))
    out = subprocess.run(
        [str(BIN), "demo", "--config", str(config), "--no-live", "--duration", "16",
         "--shock-after", "3", "--http-port", "0"],
        capture_output=True, text=True, timeout=90, cwd=tmp_path,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert "price shock: GLD +25 %" in text
    decisions = re.findall(r"decision_id=\S+", text)
    assert len(decisions) >= 2, text[-3000:]  # the drifted start, then the shock
    final = text[text.index("final state"):]
    rows = re.findall(r"^(VTI|VXUS|BND|GLD|CASH)\s.*\s(ok|OVER|UNDER)$", final, re.M)
    assert len(rows) == 5, final
    assert all(status == "ok" for _, status in rows), final
    assert "Traceback" not in text


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2027-07-05T15:00:00Z", "2027-07-02T14:00:00Z"),  # Independence Day (observed) → Fri
        ("2027-03-14T12:00:00Z", "2027-03-12T15:00:00Z"),  # DST starts on a Sunday; Fri in EST
        ("2027-11-07T12:00:00Z", "2027-11-05T14:00:00Z"),  # DST ends on a Sunday; Fri in EDT
        ("2028-01-01T04:59:00Z", "2027-12-31T15:00:00Z"),  # New Year's Eve 23:59 in New York
        ("2061-06-04T12:00:00Z", "2061-06-03T14:00:00Z"),  # a Saturday decades ahead
    ],
)
def test_the_demo_finds_a_session_on_any_date(now: str, expected: str) -> None:
    """The demo's exchange starts at 10:00 New York in the latest session on or before the
    day: weekends, holidays, DST days and far years included (no calendar end)."""
    from daemon.cli_demo import session_start

    got = session_start(datetime.fromisoformat(now))
    assert got == datetime.fromisoformat(expected)
