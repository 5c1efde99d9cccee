"""Books against the broker: what a reconciliation changed in the engine's holdings.

The engine's cash and positions follow the fills it hears of; an account snapshot replaces
them with the broker's. When the two disagree, the books were wrong (a fill the streams
lost, a dividend, a trade made by hand) and the snapshot corrected them: the shell counts
that (``rebalanced_book_corrections_total``) and logs what differed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from daemon.core.model import Holdings

# Cash moves by fees and dividends the engine does not model; a correction smaller than this
# is not reported (positions are compared exactly).
CASH_TOLERANCE = Decimal("1.00")


@dataclass(frozen=True, slots=True)
class BookCorrection:
    positions: dict[str, tuple[Decimal, Decimal]]  # symbol → (ours, the broker's)
    cash: tuple[Decimal, Decimal] | None  # (ours, the broker's) when off by ≥ the tolerance

    def __bool__(self) -> bool:
        return bool(self.positions) or self.cash is not None

    def describe(self) -> dict[str, str]:
        out = {s: f"{ours} -> {theirs}" for s, (ours, theirs) in sorted(self.positions.items())}
        if self.cash is not None:
            out["cash"] = f"{self.cash[0]} -> {self.cash[1]}"
        return out


def book_correction(before: Holdings | None, after: Holdings | None) -> BookCorrection:
    """How ``after`` (the engine once the snapshot is applied) differs from ``before``."""
    if before is None or after is None:
        return BookCorrection({}, None)
    symbols = set(before.positions) | set(after.positions)
    zero = Decimal(0)
    positions = {
        s: (before.positions.get(s, zero), after.positions.get(s, zero))
        for s in symbols
        if before.positions.get(s, zero) != after.positions.get(s, zero)
    }
    cash = None
    if abs(before.cash - after.cash) >= CASH_TOLERANCE:
        cash = (before.cash, after.cash)
    return BookCorrection(positions, cash)


__all__ = ["CASH_TOLERANCE", "BookCorrection", "book_correction"]
