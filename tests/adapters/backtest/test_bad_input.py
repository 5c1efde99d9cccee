"""Bad backtest input beyond the CSV cases of ``test_cli_backtest``: the same problems in a
Parquet file (its rows are the 1-based data rows), an infinite value, a directory or an
unreadable path given as the prices, bad cash flows with ``--report``, and a report that
cannot be written. Each exits with its code, names the file, row and column where there is
one, prints nothing on stdout and leaves no report (nor its temporary file) behind."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from daemon.cli_backtest import main

CONFIG = """
[portfolio]
cash_target = 2
[portfolio.targets]
AAA = 58
BBB = 40
"""

GOOD = {
    "date": ["2020-01-02", "2020-01-03", "2020-01-06"],
    "AAA": [10.0, 10.5, 10.2],
    "BBB": [20.0, 20.1, 19.9],
}


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    c = tmp_path / "c.toml"
    c.write_text(CONFIG)
    return c


def run_bad(tmp_path: Path, cfg: Path, prices: Path, capsys: pytest.CaptureFixture[str],
            *extra: str, code: int = 65) -> str:  # fmt: skip
    report = tmp_path / "report"
    got = main(["--config", str(cfg), "--prices", str(prices), "--json", "--report",
                str(report), *extra])  # fmt: skip
    out = capsys.readouterr()
    assert got == code, out.err
    assert out.out == "" and not report.exists()  # nothing half-written
    return out.err


def _parquet(tmp_path: Path, **changes: list[object]) -> Path:
    """pyarrow from Python lists: None is a null cell, float("nan") a NaN one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "bad.parquet"
    pq.write_table(pa.table({**GOOD, **changes}), p)
    return p


@pytest.mark.parametrize(
    ("changes", "expect"),
    [
        ({"AAA": [10.0, float("nan"), 10.2]}, ["row 2", "column 'AAA'", "not a finite number"]),
        ({"AAA": [10.0, None, 10.2]}, ["row 2", "column 'AAA'", "missing value"]),
        ({"BBB": [20.0, 20.1, 0.0]}, ["row 3", "column 'BBB'", "not positive"]),
        ({"BBB": [20.0, -1.0, 19.9]}, ["row 2", "column 'BBB'", "not positive"]),
        ({"date": ["2020-01-02", "2020-01-02", "2020-01-06"]},
         ["row 2", "column 'date'", "duplicate date 2020-01-02 (also on row 1)"]),
        ({"date": ["2020-01-03", "2020-01-02", "2020-01-06"]},
         ["row 2", "column 'date'", "sort the rows by date"]),
        ({"date": ["2020-01-02", None, "2020-01-06"]}, ["row 2", "column 'date'", "missing date"]),
    ],
)  # fmt: skip
def test_bad_parquet_exits_65_naming_file_row_and_column(
    tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str],
    changes: dict[str, list[object]], expect: list[str],
) -> None:  # fmt: skip
    err = run_bad(tmp_path, cfg, _parquet(tmp_path, **changes), capsys)
    assert "bad.parquet, " in err
    for e in expect:
        assert e in err, err


def test_a_parquet_without_a_config_symbol_names_it(
    tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "bad.parquet"
    pd.DataFrame({k: v for k, v in GOOD.items() if k != "BBB"}).to_parquet(p)
    err = run_bad(tmp_path, cfg, p, capsys)
    assert "bad.parquet, column 'BBB': has no price column for config symbol(s) BBB" in err


def test_an_infinite_close_is_refused(
    tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("date,AAA,BBB\n2020-01-02,1,2\n2020-01-03,inf,2\n")
    err = run_bad(tmp_path, cfg, p, capsys)
    assert f"{p}, row 3, column 'AAA': inf is not a finite number" in err


def test_a_directory_as_prices_is_refused(
    tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "folder.csv"
    d.mkdir()
    err = run_bad(tmp_path, cfg, d, capsys)
    assert f"{d}: is a directory" in err


def test_an_unreadable_file_is_refused(
    tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    p = tmp_path / "locked.csv"
    p.write_text("date,AAA,BBB\n2020-01-02,1,2\n")
    p.chmod(0)
    err = run_bad(tmp_path, cfg, p, capsys)
    assert f"{p}: permission denied" in err


def test_bad_cash_flows_with_a_report_write_nothing(
    tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "p.csv"
    pd.DataFrame(GOOD).to_csv(prices, index=False)
    flows = tmp_path / "flows.csv"
    flows.write_text("date,amount\n2020-01-03,100\n,5\n")
    err = run_bad(tmp_path, cfg, prices, capsys, "--cash-flows", str(flows))
    assert "flows.csv, row 3, column 'date'" in err


def test_a_report_that_cannot_be_written_exits_73_leaving_nothing(
    tmp_path: Path, cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    prices = tmp_path / "p.csv"
    pd.DataFrame(GOOD).to_csv(prices, index=False)
    blocker = tmp_path / "taken"
    blocker.write_text("a file where the report directory should go")
    report = blocker / "report"
    code = main(["--config", str(cfg), "--prices", str(prices), "--json", "--report",
                 str(report)])  # fmt: skip
    out = capsys.readouterr()
    assert code == 73 and out.out == ""
    assert "cannot write the report" in out.err and str(report) in out.err
    assert blocker.read_text().startswith("a file") and list(tmp_path.glob("**/.report-*")) == []
