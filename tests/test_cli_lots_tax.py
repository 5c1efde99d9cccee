"""``rebalanced lots import`` and ``rebalanced tax`` on real journals.

A journal gets the broker's snapshot, then lots are imported, then the daemon trades (fills
journaled as events). The ledger rebuilt from the journal must start from the import, replay
only the fills after it, apply the wash-sale rule, and report it. Bad lot files are refused
with the row and column named and nothing imported. Expected figures are worked by hand.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from adapters.store import lot_journal, schema
from adapters.store.journal import SqliteJournal
from daemon import cli, cli_lots, cli_tax
from daemon.core.commands import PlaceOrder
from daemon.core.events import AccountSnapshot, OrderFilled, QuoteUpdated
from daemon.core.model import Side
from daemon.core.tax.ledger import replay

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

GOOD = """Symbol,Date Acquired,Quantity,Cost Basis,Description
VTI,2024-01-10,6,"$1,100.00",Vanguard Total
VTI,11/03/2025,4,900.00,Vanguard Total
BND,2023-05-01,20,1500,Vanguard Bond
"""


async def _snapshot(state: Path) -> None:
    j = await SqliteJournal.open(state, quotes="all", clock=lambda: T0)
    j.record_event(AccountSnapshot(T0, D(1000), {"VTI": D(10), "BND": D(20)},
                                   avg_entry_prices={"VTI": D(200), "BND": D(75)}))
    await j.close()


async def _trade(state: Path) -> None:
    """Sell 5 VTI, then 4 more at a loss on the Nov 2025 lot, buy 3 back 10 days later."""
    j = await SqliteJournal.open(state, quotes="all", clock=lambda: T0)
    n = 0

    async def fill(at: datetime, symbol: str, side: Side, qty: str, price: str) -> None:
        nonlocal n
        n += 1
        cid = f"run1-{n}"
        await j.record_intent(PlaceOrder(cid, symbol, side, D(qty), None, None, decision_id="d"))
        j.record_event(OrderFilled(at, cid, f"x-{n}", D(qty), D(price), D(qty)))

    await fill(T0 + timedelta(days=1), "VTI", Side.SELL, "5", "210")
    await fill(T0 + timedelta(days=2), "VTI", Side.SELL, "4", "210")
    j.record_event(OrderFilled(T0 + timedelta(days=2), "run1-2", "x-2", D(4), D(210), D(4)))
    await fill(T0 + timedelta(days=12), "VTI", Side.BUY, "3", "205")
    j.record_event(QuoteUpdated(T0 + timedelta(days=13), "VTI", 219.98, 220.02))
    await j.close()


def _import(state: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli_lots.main(["import", *args, "--state-dir", str(state)], out=out)
    return code, out.getvalue()


def _imports(state: Path) -> int:
    conn = sqlite3.connect(state / schema.JOURNAL_FILENAME)
    try:
        return int(conn.execute("SELECT count(*) FROM lot_imports").fetchone()[0])
    finally:
        conn.close()


def _tax_csv(state: Path, year: int = 2026) -> list[dict[str, str]]:
    out = io.StringIO()
    assert cli_tax.main(["--year", str(year), "--state-dir", str(state), "--csv"], out=out) == 0
    return list(csv.DictReader(io.StringIO(out.getvalue())))


async def test_import_then_trades_then_tax_report(tmp_path: Path) -> None:
    await _snapshot(tmp_path)
    lots_csv = tmp_path / "lots.csv"
    lots_csv.write_text(GOOD)
    code, text = _import(tmp_path, str(lots_csv))
    assert code == 0, text
    assert "imported 3 lot(s)" in text and "checked against the broker's positions" in text
    await _trade(tmp_path)

    rows = _tax_csv(tmp_path)
    sold = [r for r in rows if r["section"] == "realised"]
    # FIFO: 5 of the 2024 lot ($1,100 for 6 → $916.67 for 5), long-term, for $1,050
    assert (sold[0]["date_acquired"], sold[0]["quantity"], sold[0]["term"]) == (
        "2024-01-10", "5", "long")
    assert D(sold[0]["cost_basis"]) == D("916.67")
    assert D(sold[0]["gain_loss"]) == D(1050) - D("916.67")
    # then its last share (basis $183.33, a gain) and 3 of the Nov 2025 lot ($225/sh) sold at
    # $210: a $45 short-term loss, washed by the 3 bought back 10 days later
    assert [(r["date_acquired"], r["quantity"]) for r in sold[1:]] == [
        ("2024-01-10", "1"), ("2025-11-03", "3")]
    loss = sold[2]
    assert (loss["adjustment_code"], D(loss["adjustment"]), D(loss["gain_loss"])) == (
        "W", D(45), D(0))
    assert loss["term"] == "short"
    held = {r["lot_id"]: r for r in rows if r["section"] == "unrealised"}
    replacement = next(r for r in held.values() if r["adjustment_code"] == "W")
    assert D(replacement["cost_basis"]) == D(3) * D(205) + D(45)
    assert D(replacement["price"]) == D("220.00")  # the last quote's mid
    # held from 2025-11-13 (carried over): long-term from 2026-11-14; the journal's last day
    # is 2026-03-15
    assert int(replacement["days_to_long_term"]) == (date(2026, 11, 14) - date(2026, 3, 15)).days
    bnd = next(r for r in held.values() if r["symbol"] == "BND")
    assert bnd["days_to_long_term"] == "0"
    # the repeated fill event (same execution id) was applied once: 10 - 9 + 3 VTI
    assert sum(D(r["quantity"]) for r in held.values() if r["symbol"] == "VTI") == D(4)
    assert sum(D(r["quantity"]) for r in held.values() if r["symbol"] == "BND") == D(20)

    table = io.StringIO()
    assert cli.main(["tax", "--year", "2026", "--state-dir", str(tmp_path)]) == 0
    assert cli_tax.main(["--year", "2026", "--state-dir", str(tmp_path)], out=table) == 0
    assert "REALISED" in table.getvalue() and "UNREALISED" in table.getvalue()
    assert "short" in table.getvalue()


async def test_ledger_is_rebuilt_identically(tmp_path: Path) -> None:
    await _snapshot(tmp_path)
    (tmp_path / "lots.csv").write_text(GOOD)
    assert _import(tmp_path, str(tmp_path / "lots.csv"))[0] == 0
    await _trade(tmp_path)
    conn = sqlite3.connect(tmp_path / schema.JOURNAL_FILENAME)
    a = replay(lot_journal.read_inputs(conn).entries)
    b = replay(lot_journal.read_inputs(conn).entries)
    conn.close()
    assert a.lots() == b.lots() and a.disposals == b.disposals
    assert a.positions() == {"BND": D(20), "VTI": D(4)}


async def test_without_a_file_positions_become_date_unknown_lots(tmp_path: Path) -> None:
    await _snapshot(tmp_path)
    code, text = _import(tmp_path)
    assert code == 0, text
    await _trade(tmp_path)
    rows = _tax_csv(tmp_path)
    sold = [r for r in rows if r["section"] == "realised"]
    # one VTI lot of 10 at $200: the first sale gains $50, term unknown, flagged
    assert (sold[0]["date_acquired"], sold[0]["term"], sold[0]["flags"]) == (
        "unknown", "unknown", "date_unknown")
    assert D(sold[0]["gain_loss"]) == D(5) * (D(210) - D(200))
    held = [r for r in rows if r["section"] == "unrealised"]
    assert all("date_unknown" in r["flags"] for r in held if r["date_acquired"] == "unknown")


async def test_no_import_falls_back_to_the_first_snapshot_with_a_note(tmp_path: Path) -> None:
    await _snapshot(tmp_path)
    await _trade(tmp_path)
    out = io.StringIO()
    assert cli_tax.main(["--year", "2026", "--state-dir", str(tmp_path)], out=out) == 0
    assert "no lots were imported" in out.getvalue()


def _bad(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    ("body", "as_of", "expected"),
    [
        ("symbol,acquired,quantity,cost basis\nVTI,2026-03-03,10,2000\nBND,2023-01-03,20,1500\n",
         "", "row 2, column 'acquired': 2026-03-03 is after 2026-03-02"),
        ("symbol,acquired,quantity,cost basis\nVTI,2026-02-03,10,2000\nBND,2023-01-03,20,1500\n",
         "2026-01-31", "row 2, column 'acquired': 2026-02-03 is after 2026-01-31"),
        ("symbol,acquired,quantity,cost basis\nVTI,2024-01-03,-10,2000\nBND,2023-01-03,20,1500\n",
         "", "row 2, column 'quantity': -10 is not a positive quantity"),
        ("symbol,acquired,quantity,cost basis\nVTI,2024-01-03,0,2000\nBND,2023-01-03,20,1500\n",
         "", "row 2, column 'quantity': 0 is not a positive quantity"),
        ("symbol,acquired,quantity,cost basis\nVTI,2024-01-03,10,NaN\nBND,2023-01-03,20,1500\n",
         "", "row 2, column 'cost basis': 'NaN' is not a number"),
        ("symbol,acquired,quantity,cost basis\nVTI,2024-01-03,ten,2000\nBND,2023-01-03,20,1500\n",
         "", "row 2, column 'quantity': 'ten' is not a number"),
        ("symbol,acquired,quantity,cost basis\nVTI,2024-01-03,5,1000\nVTI,2024-01-03,5,1000\n"
         "BND,2023-01-03,20,1500\n", "", "row 3: the same lot as row 2"),
        ("symbol,acquired,quantity,cost basis\nVTI,2024-01-03,9,2000\nBND,2023-01-03,20,1500\n",
         "", "column 'quantity': VTI: the lots add up to 9 shares but the broker holds 10"),
        ("symbol,acquired,quantity,cost basis\nVTI,2024-01-03,10,2000\n",
         "", "BND: the lots add up to 0 shares but the broker holds 20"),
        ("symbol,date,quantity,cost basis\nVTI,2024-01-03,10,2000\n",
         "", "row 1, column 'acquired': no acquired column"),
        ("symbol,acquired,quantity,cost basis\nVTI,13/45/2024,10,2000\nBND,2023-01-03,20,1500\n",
         "", "row 2, column 'acquired': '13/45/2024' is not a date"),
        ("symbol,acquired,quantity,cost basis\nVTI,2024-01-03,10,-5\nBND,2023-01-03,20,1500\n",
         "", "row 2, column 'cost basis': -5 is negative"),
    ],
)
async def test_bad_files_are_refused_and_nothing_is_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, as_of: str, expected: str
) -> None:
    await _snapshot(tmp_path)
    args = [str(_bad(tmp_path, body))] + (["--as-of", as_of] if as_of else [])
    code, _ = _import(tmp_path, *args)
    err = capsys.readouterr().err
    assert code == 65
    assert expected in err
    assert "nothing changed" in err and "Traceback" not in err
    assert _imports(tmp_path) == 0


async def test_missing_journal_file_and_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _import(tmp_path / "nowhere", "x.csv")[0] == 66
    await _snapshot(tmp_path)
    assert _import(tmp_path, str(tmp_path / "missing.csv"))[0] == 66
    assert _import(tmp_path, str(tmp_path / "missing.csv"), "--as-of", "yesterday")[0] == 64
    monkeypatch.delenv("REBALANCED_STATE_DIR", raising=False)
    assert cli_tax.main(["--year", "2026"]) == 64
    assert cli_lots.main(["import", "x.csv"]) == 64
    assert cli_tax.main(["--year", "twenty", "--state-dir", str(tmp_path)]) == 64
    assert cli_tax.main(["--year", "99", "--state-dir", str(tmp_path)]) == 64
    assert cli_tax.main(["--year", "2026", "--state-dir", str(tmp_path / "nowhere")]) == 66
    assert "Traceback" not in capsys.readouterr().err


async def test_sale_beyond_the_lots_is_exit_65_naming_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _snapshot(tmp_path)
    (tmp_path / "lots.csv").write_text(GOOD)
    assert _import(tmp_path, str(tmp_path / "lots.csv"))[0] == 0
    j = await SqliteJournal.open(tmp_path, clock=lambda: T0)
    await j.record_intent(PlaceOrder("run9-1", "BND", Side.SELL, D(25), None, None))
    j.record_event(OrderFilled(T0 + timedelta(days=1), "run9-1", "y-1", D(25), D(70), D(25)))
    await j.close()
    assert cli_tax.main(["--year", "2026", "--state-dir", str(tmp_path)]) == 65
    err = capsys.readouterr().err
    assert "hold only 20 shares" in err and "lots import" in err


def test_a_v1_journal_is_migrated_additively(tmp_path: Path) -> None:
    path = tmp_path / schema.JOURNAL_FILENAME
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in schema._statements(schema.MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO events(at, kind, body) VALUES ('2026-03-02T15:00:00+00:00', "
                 "'TimerFired', '{\"at\": \"2026-03-02T15:00:00+00:00\", \"key\": \"k\"}')")
    conn.close()
    # the report reads a v1 journal as it is (read-only: no lot tables, nothing imported)
    assert cli_tax.main(["--year", "2026", "--state-dir", str(tmp_path)], out=io.StringIO()) == 0
    lots_csv = tmp_path / "lots.csv"
    lots_csv.write_text(GOOD)
    code, text = _import(tmp_path, str(lots_csv))
    assert code == 0, text
    assert "not checked against positions" in text
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1  # kept
    assert conn.execute("SELECT count(*) FROM imported_lots").fetchone()[0] == 3
    conn.close()


async def test_config_groups_wash_a_substitute_and_a_bad_config_is_78(tmp_path: Path) -> None:
    state = tmp_path / "state"
    j = await SqliteJournal.open(state, clock=lambda: T0)
    j.record_event(AccountSnapshot(T0, D(0), {"VTI": D(10)}))
    await j.close()
    (tmp_path / "lots.csv").write_text("ticker,open date,shares,total cost\nVTI,2025-06-02,10,2500\n")
    assert _import(state, str(tmp_path / "lots.csv"))[0] == 0
    j = await SqliteJournal.open(state, clock=lambda: T0)
    await j.record_intent(PlaceOrder("r-1", "VTI", Side.SELL, D(10), None, None))
    j.record_event(OrderFilled(T0 + timedelta(days=1), "r-1", "e-1", D(10), D(200), D(10)))
    await j.record_intent(PlaceOrder("r-2", "ITOT", Side.BUY, D(5), None, None))
    j.record_event(OrderFilled(T0 + timedelta(days=6), "r-2", "e-2", D(5), D(100), D(5)))
    await j.close()
    plain = _tax_csv(state)
    assert D(plain[0]["gain_loss"]) == D(2000) - D(2500) and plain[0]["adjustment"] == "0.00"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[portfolio]\ncash_target = 0\ntargets = {{ VTI = 100 }}\n'
                   f'[daemon]\nstate_dir = "{state}"\n'
                   '[tax]\naccount = "taxable"\n'
                   'wash_sale_groups = { VTI = "us-total", ITOT = "us-total" }\n')
    out = io.StringIO()
    assert cli_tax.main(["--year", "2026", "--config", str(cfg), "--csv"], out=out) == 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    # 5 replacement shares for 10 sold: half the $500 loss is disallowed, into ITOT's basis
    assert (rows[0]["adjustment_code"], D(rows[0]["adjustment"])) == ("W", D(250))
    itot = next(r for r in rows if r["symbol"] == "ITOT")
    assert D(itot["cost_basis"]) == D(500) + D(250)
    cfg.write_text('[portfolio]\ntargets = { VTI = 100 }\n[tax]\naccount = "taxable"\n'
                   'relief_method = "hifo"\n')
    assert cli_tax.main(["--year", "2026", "--config", str(cfg)]) == 78


async def test_linked_ira_buys_disallow_a_loss_for_good(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _snapshot(tmp_path)
    (tmp_path / "lots.csv").write_text(GOOD)
    assert _import(tmp_path, str(tmp_path / "lots.csv"))[0] == 0
    await _trade(tmp_path)
    # the IRA bought 2 VTI on 2026-03-05, the day after the $45 loss on 3 shares: 2 of the 3
    # shares are washed by the IRA ($30, for good), the third by the taxable rebuy ($15)
    ira = tmp_path / "ira.csv"
    ira.write_text("Symbol,Trade Date,Quantity,Account\nVTI,2026-03-05,2,roth-ira\n")
    out = io.StringIO()
    args = ["--year", "2026", "--state-dir", str(tmp_path), "--csv", "--linked-buys", str(ira)]
    assert cli_tax.main(args, out=out) == 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    loss = [r for r in rows if r["section"] == "realised"][2]
    assert (D(loss["adjustment"]), loss["flags"]) == (D(45), "permanent")
    assert D(loss["disallowed_for_good"]) == D(30)
    replacement = next(r for r in rows if r["section"] == "unrealised" and r["adjustment_code"])
    assert D(replacement["cost_basis"]) == D(205) + D(15)
    ira.write_text("symbol,date,quantity\nVTI,2026-04-30,2\nBND,2026-03-05,-1\n")
    assert cli_tax.main(args, out=io.StringIO()) == 65
    err = capsys.readouterr().err
    assert "row 2, column 'date': 2026-04-30 is after 2026-03-15" in err
    assert "row 3, column 'quantity': '-1' is not a positive quantity" in err


def test_check_config_says_the_account_is_taxable(tmp_path: Path) -> None:
    from daemon.cli_config import summary
    from daemon.config_file import load_config

    root = Path(__file__).resolve().parents[1]
    text = (root / "deploy" / "rebalanced.example.toml").read_text()
    assert 'account = "tax_deferred"' in text  # the example is an IRA; say taxable:
    taxable = tmp_path / "taxable.toml"
    taxable.write_text(text.replace('account = "tax_deferred"', 'account = "taxable"'))
    assert "taxable account (fifo lots, bands x1.4)" in summary(load_config(taxable))
    assert "taxable" not in summary(load_config(root / "deploy" / "rebalanced.example.toml"))
    assert "taxable" not in summary(load_config(root / "examples" / "demo.toml"))


async def test_lots_show_lists_the_open_lots(tmp_path: Path) -> None:
    await _snapshot(tmp_path)
    (tmp_path / "lots.csv").write_text(GOOD)
    assert _import(tmp_path, str(tmp_path / "lots.csv"))[0] == 0
    await _trade(tmp_path)
    out = io.StringIO()
    assert cli_lots.main(["show", "--state-dir", str(tmp_path)], out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["SYMBOL", "LOT", "QTY"]
    # BND untouched; VTI: the last share of the Nov 2025 lot, and the 3 shares bought back
    assert sorted(line.split()[0] for line in lines[1:]) == ["BND", "VTI", "VTI"]
    assert "wash_replacement" in out.getvalue()
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[portfolio]\ntargets = { VTI = 100 }\n[tax]\nst_rate = 3\n")
    assert cli_lots.main(["show", "--config", str(cfg)], out=io.StringIO()) == 78


async def test_fills_of_orders_we_did_not_place_are_skipped_and_said(tmp_path: Path) -> None:
    await _snapshot(tmp_path)
    (tmp_path / "lots.csv").write_text(GOOD)
    assert _import(tmp_path, str(tmp_path / "lots.csv"))[0] == 0
    j = await SqliteJournal.open(tmp_path, clock=lambda: T0)
    j.record_event(OrderFilled(T0 + timedelta(days=1), "by-hand-1", "h-1", D(3), D(70), D(3)))
    await j.close()
    out = io.StringIO()
    assert cli_tax.main(["--year", "2026", "--state-dir", str(tmp_path)], out=out) == 0
    assert "1 fill(s) of orders rebalanced did not place were skipped" in out.getvalue()
