"""The backtester's adapters: price history (``prices``), cash flows (``cash_flows``), the
per-row market (``market``), the fill model and ledger (``fill_model``), the feeder that
drives the core ``Engine`` (``feeder``), the summary figures (``metrics``), the HTML report
(``report``) and grids, regimes and walk-forward (``sweep``). See docs/backtest.md."""
