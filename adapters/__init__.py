"""The outside world behind small ports: alpaca, sim (paper exchange), store (journal)."""
