"""``rebalanced history``: JSON and table output from a real journal, read-only access."""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.store.journal import SqliteJournal
from daemon import cli_history
from daemon.core.commands import PlaceOrder, RecordDecision
from daemon.core.events import OrderFilled
from daemon.core.model import Side, TradingState
from daemon.core.planning.plan import Plan, PlannedOrder, WeightRow
from tests.clocks import StepClock

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


async def fill_journal(j: SqliteJournal) -> None:
    """One decision with two orders: a sell filled in two parts, a buy still open."""
    plan = Plan(
        at=T0,
        triggered=True,
        reasons=("SPY 33.0% > 30.0%", "BND 17.0% < 20.0%"),
        portfolio_value=Decimal("100000.00"),
        weights={"SPY": WeightRow(0.33, 0.30, 0.25, 0.35), "BND": WeightRow(0.17, 0.2, 0.15, 0.25)},
        orders=(
            PlannedOrder(
                "SPY",
                Side.SELL,
                Decimal("5"),
                None,
                Decimal("599.40"),
                Decimal("0.9"),
                "overweight",
            ),
            PlannedOrder(
                "BND", Side.BUY, None, Decimal("3000.00"), None, Decimal("0.4"), "underweight"
            ),
        ),
        portfolio_drift=0.031,
        est_cost=Decimal("1.30"),
        est_benefit=Decimal("7.25"),
    )
    j.record_command(RecordDecision("d-0001", plan))
    sell = PlaceOrder(
        "run1-1", "SPY", Side.SELL, Decimal("5"), None, Decimal("599.40"), decision_id="d-0001"
    )
    buy = PlaceOrder(
        "run1-2", "BND", Side.BUY, None, Decimal("3000.00"), None, decision_id="d-0001"
    )
    await j.record_intent(sell)
    await j.record_intent(buy)
    j.record_order_state("run1-1", "OPEN", {"broker_order_id": "b-1"})
    j.record_fill(
        OrderFilled(
            T0 + timedelta(seconds=2),
            "run1-1",
            "x-1",
            Decimal("2"),
            Decimal("599.50"),
            Decimal("2"),
        )
    )
    j.record_fill(
        OrderFilled(
            T0 + timedelta(seconds=3),
            "run1-1",
            "x-2",
            Decimal("3"),
            Decimal("599.40"),
            Decimal("5"),
        )
    )
    j.record_order_state("run1-1", "FILLED", {})
    j.record_order_state("run1-2", "OPEN", {"broker_order_id": "b-2"})
    await j.set_trading_state(TradingState.HALTED, "operator: kill switch")
    await j.flush()


@pytest.fixture
async def state_dir(tmp_path: Path) -> Path:
    j = await SqliteJournal.open(tmp_path, clock=lambda: T0 + timedelta(seconds=10))
    await fill_journal(j)
    await j.close()
    return tmp_path


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = cli_history.main(argv, out=out)
    return code, out.getvalue()


def test_json_lists_decisions_orders_and_fills_newest_first(state_dir: Path) -> None:
    code, text = run(["--state-dir", str(state_dir), "--json"])
    assert code == 0
    doc = json.loads(text)
    assert doc["trading_state"]["state"] == "halted"
    assert doc["trading_state"]["reason"] == "operator: kill switch"
    (decision,) = doc["decisions"]
    assert decision["decision_id"] == "d-0001" and decision["triggered"] is True
    assert decision["reasons"] == ["SPY 33.0% > 30.0%", "BND 17.0% < 20.0%"]
    assert decision["weights"]["SPY"]["current"] == 0.33  # the drift snapshot
    assert [o["symbol"] for o in decision["orders"]] == ["SPY", "BND"]
    assert [o["client_order_id"] for o in doc["orders"]] == ["run1-2", "run1-1"]
    sell = doc["orders"][1]
    assert (sell["state"], sell["filled_qty"], sell["fill_count"]) == ("FILLED", "5", 2)
    assert sell["avg_price"] == "599.44"  # (2×599.50 + 3×599.40) / 5, exact
    assert doc["orders"][0]["notional"] == "3000.00" and doc["orders"][0]["qty"] is None
    assert [f["execution_id"] for f in doc["fills"]] == ["x-2", "x-1"]
    assert doc["fills"][0]["price"] == "599.40" and doc["fills"][0]["symbol"] == "SPY"


def test_kind_and_limit_select(state_dir: Path) -> None:
    code, text = run(["--state-dir", str(state_dir), "--json", "--kind", "fills", "--limit", "1"])
    assert code == 0
    doc = json.loads(text)
    assert set(doc) == {"trading_state", "fills"}
    assert [f["execution_id"] for f in doc["fills"]] == ["x-2"]


def test_table_is_readable(state_dir: Path) -> None:
    code, text = run(["--state-dir", str(state_dir)])
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "trading state: halted — operator: kill switch (since " + lines[0][-21:]
    assert "DECISIONS (newest first)" in lines and "FILLS (newest first)" in lines
    header = next(line for line in lines if line.startswith("TIME") and "CLIENT ORDER ID" in line)
    assert header.split() == [
        "TIME",
        "CLIENT",
        "ORDER",
        "ID",
        "SYMBOL",
        "SIDE",
        "QTY",
        "NOTIONAL",
        "LIMIT",
        "STATE",
        "FILLED",
        "AVG",
        "PRICE",
        "DECISION",
    ]
    sell = next(line for line in lines if line.split()[2:3] == ["run1-1"])
    assert sell.split() == [
        "2026-03-02",
        "14:30:10Z",
        "run1-1",
        "SPY",
        "sell",
        "5",
        "-",
        "599.40",
        "FILLED",
        "5",
        "599.44",
        "d-0001",
    ]
    buy = next(line for line in lines if line.split()[2:3] == ["run1-2"])
    assert "market" in buy.split() and "OPEN" in buy.split()
    decision = next(line for line in lines if "d-0001" in line and "3.10%" in line)
    assert "SPY 33.0% > 30.0%; BND 17.0% < 20.0%" in decision
    # columns line up: every row of a table starts its fields where the header does
    fills_at = lines.index("FILLS (newest first)")
    fill_header, first_fill = lines[fills_at + 1], lines[fills_at + 2]
    assert first_fill[fill_header.index("PRICE") :].startswith("599.40")


def test_empty_journal_says_none(tmp_path: Path) -> None:
    import asyncio

    async def make() -> None:
        j = await SqliteJournal.open(tmp_path, clock=StepClock())
        await j.close()

    asyncio.run(make())
    code, text = run(["--state-dir", str(tmp_path)])
    assert code == 0
    assert text.count("(none)") == 3
    assert text.startswith("trading state: active (never changed)")


def test_missing_journal_and_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cli_history.ENV_STATE_DIR, raising=False)
    assert run(["--state-dir", str(tmp_path / "nope")])[0] == cli_history.EX_NOINPUT
    assert "no journal at" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()  # never created
    assert run(["--state-dir", str(tmp_path), "--limit", "0"])[0] == cli_history.EX_USAGE
    assert run(["--kind", "trades", "--state-dir", str(tmp_path)])[0] == cli_history.EX_USAGE
    capsys.readouterr()
    assert run([])[0] == cli_history.EX_USAGE
    assert "--state-dir is required" in capsys.readouterr().err


def test_state_dir_from_the_environment(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cli_history.ENV_STATE_DIR, str(state_dir))
    code, text = run(["--json", "--kind", "decisions"])
    assert code == 0 and json.loads(text)["decisions"][0]["decision_id"] == "d-0001"


async def test_works_while_the_daemon_is_writing(tmp_path: Path) -> None:
    j = await SqliteJournal.open(tmp_path, clock=StepClock())  # the "daemon": writer open, WAL not checkpointed
    await fill_journal(j)
    before = sorted(_listing(tmp_path))
    code, text = run(["--state-dir", str(tmp_path), "--json", "--kind", "orders"])
    assert code == 0 and len(json.loads(text)["orders"]) == 2
    j.record_fill(OrderFilled(T0, "run1-2", "x-3", Decimal("5"), Decimal("72.1"), Decimal("5")))
    await j.flush()
    code, text = run(["--state-dir", str(tmp_path), "--json", "--kind", "fills"])
    assert json.loads(text)["fills"][0]["execution_id"] == "x-3"
    assert sorted(_listing(tmp_path)) == before
    await j.close()


def test_through_the_rebalanced_entry_point(state_dir: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "daemon.cli",
            "history",
            "--state-dir",
            str(state_dir),
            "--kind",
            "decisions",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["decisions"][0]["decision_id"] == "d-0001"


def _listing(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in directory.iterdir()}


def _cli(command: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, "-m", "daemon.cli", "history", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory other users may enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="rebalanced-history-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


def test_unreadable_state_dir_is_a_clear_error(
    shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = _as_nobody()
    if command is None:
        pytest.skip("needs root, setpriv and a Python 3.11 nobody can run")
    private = shared_dir / "private"
    private.mkdir(mode=0o700)
    (private / "journal.sqlite3").write_bytes(b"")
    out = _cli(command, "--state-dir", str(private))
    assert out.returncode == cli_history.EX_NOINPUT
    assert "permission denied" in out.stderr and "service user" in out.stderr
    assert "Traceback" not in out.stderr


@functools.cache
def _as_nobody() -> list[str] | None:
    """A command running a Python ≥ 3.11 as user nobody (the venv's may live under /root)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    switch = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    for python in (sys.executable, shutil.which("python3.11"), shutil.which("python3")):
        if python is None:
            continue
        probe = subprocess.run(
            [*switch, python, "-c", "import sys; assert sys.version_info >= (3, 11)"],
            capture_output=True,
            timeout=30,
        )
        if probe.returncode == 0:
            return [*switch, python]
    return None


@pytest.mark.skipif(
    _as_nobody() is None, reason="needs root, setpriv and a Python 3.11 nobody can run"
)
@pytest.mark.parametrize("daemon_running", [False, True])
async def test_operator_without_write_access(shared_dir: Path, daemon_running: bool) -> None:
    """The state dir belongs to the service (0755, files 0644): history still reads it,
    whether the daemon runs (WAL + shm present) or is stopped (checkpointed, no -wal)."""
    state = shared_dir / "state"
    j = await SqliteJournal.open(state, clock=StepClock())
    await fill_journal(j)
    if not daemon_running:
        await j.close()
    os.chmod(state, 0o755)
    for name in _listing(state):
        os.chmod(state / name, 0o644)
    before = _listing(state)
    command = _as_nobody()
    assert command is not None
    out = _cli(command, "--state-dir", str(state), "--json")
    if daemon_running:
        await j.close()
    assert out.returncode == 0, out.stderr
    assert [f["execution_id"] for f in json.loads(out.stdout)["fills"]] == ["x-2", "x-1"]
    if not daemon_running:
        assert _listing(state) == before
