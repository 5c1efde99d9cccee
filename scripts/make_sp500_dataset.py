"""Write examples/data/sp500.csv: the daily prices of 20 S&P 500 stocks, 1990-01-02 to
2022-12-28, from skfolio's bundled data set (``skfolio.datasets.load_sp500_dataset``; no
download). skfolio documents them as adjusted closes (splits and dividends), the total-return
closes ``rebalanced backtest`` expects.

    python -m venv /tmp/skf && /tmp/skf/bin/pip install skfolio
    /tmp/skf/bin/python scripts/make_sp500_dataset.py

skfolio is not a dependency of rebalanced: only this script needs it.
"""

from __future__ import annotations

from pathlib import Path

from skfolio.datasets import load_sp500_dataset

OUT = Path(__file__).resolve().parent.parent / "examples" / "data" / "sp500.csv"


def main() -> None:
    df = load_sp500_dataset()
    df.index.name = "date"
    df.index = df.index.strftime("%Y-%m-%d")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT, float_format="%.6g")
    print(f"wrote {OUT}: {df.shape[0]} rows x {df.shape[1]} symbols, {df.index[0]}..{df.index[-1]}")


if __name__ == "__main__":
    main()
