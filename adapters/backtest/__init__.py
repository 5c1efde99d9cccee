"""The backtester's adapters: price history (``prices``), cash flows (``cash_flows``), the
per-row market (``market``), the fill model and ledger (``fill_model``), the feeder that
drives the core ``Engine`` (``feeder``) and the summary figures (``metrics``)."""
