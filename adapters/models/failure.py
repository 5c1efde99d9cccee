"""Why a model estimate failed (kept light: the daemon imports it on its event loop, the
libraries load in a worker thread)."""

from __future__ import annotations

__all__ = ["FAILURE_REASONS", "ModelFailure"]

FAILURE_REASONS = (
    "too_little_history",
    "nan_returns",
    "singular_covariance",
    "infeasible",
    "optimizer_failed",
)


class ModelFailure(Exception):
    """No usable estimate: ``reason`` is one of ``FAILURE_REASONS``."""

    def __init__(self, reason: str, message: str) -> None:
        assert reason in FAILURE_REASONS, reason
        self.reason = reason
        self.message = message
        super().__init__(f"{reason}: {message}")
