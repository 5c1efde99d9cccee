"""What the Engine holds back on, and what it has already said once.

- **A suspected split** (a held symbol's mid moving by ``planner.split_suspect_ratio``,
  default 1.4, or more in one quote): no decision until the account shows it, i.e. a snapshot whose share count changed
  by the inverse of the price ratio (within ``SPLIT_TOLERANCE``), a corporate-action record
  (``SplitAnnounced``) for the symbol, or an operator ``resume``. Any other snapshot leaves
  the hold in place: a snapshot taken before the broker booked the split would otherwise
  clear it and the halved price would look like an underweight.
- **Reported once**: a whole-share asset whose nearest share count is the one held while it
  is still out of band (one share is wider than its band: "cannot be balanced in whole
  shares"), and a minimum trade that can never be met (larger than the whole portfolio).
  The decision that found it is recorded; later checks do not trigger on it again until the
  holdings change (or, for the minimum, the portfolio grows past it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from daemon.core.model import CASH
from daemon.core.planning.plan import UNBALANCEABLE, Plan

SPLIT_TOLERANCE = 0.02  # shares after / shares before within 2 % of 1 / price ratio
NEVER_MET = "can never be met"
HOLD_UNTIL = (
    "no decision until a snapshot whose shares changed by the ratio, a corporate-action "
    "record or an operator resume"
)


class Holds:
    __slots__ = ("_cash_at_report", "never_met", "splits", "unbalanceable")

    def __init__(self) -> None:
        self.splits: dict[str, tuple[float, Decimal]] = {}  # symbol → (price ratio, shares)
        self.unbalanceable: dict[str, Decimal] = {}  # symbol → shares held when reported
        self._cash_at_report: Decimal | None = None
        self.never_met = False  # a minimum trade larger than the portfolio was reported

    # -- splits -----------------------------------------------------------------------------

    def suspect_split(self, symbol: str, ratio: float, held: Decimal) -> bool:
        """Hold decisions for ``symbol`` (price × ``ratio``) if shares are held."""
        if held == 0:
            return False  # nothing held: no position to misvalue
        prev = self.splits.get(symbol)
        total = ratio if prev is None else prev[0] * ratio
        shares = held if prev is None else prev[1]
        if abs(total - 1.0) < 1e-9:
            del self.splits[symbol]  # the price came back: not a split
            return False
        self.splits[symbol] = (total, shares)
        return True

    def on_snapshot(self, positions: Mapping[str, Decimal]) -> list[str]:
        """Clear the splits this snapshot shows; returns the symbols cleared."""
        cleared = []
        for sym, (ratio, before) in list(self.splits.items()):
            after = positions.get(sym, Decimal(0))
            expected = float(before) / ratio
            if expected > 0 and abs(float(after) / expected - 1.0) <= SPLIT_TOLERANCE:
                del self.splits[sym]
                cleared.append(sym)
        return cleared

    def split_recorded(self, symbol: str) -> bool:
        return self.splits.pop(symbol, None) is not None

    def resume(self) -> None:
        self.splits.clear()

    def blockers(self) -> list[str]:
        return [
            f"suspected split in {s} (price x{ratio:.3g} in one quote, {shares} shares held): "
            + HOLD_UNTIL
            for s, (ratio, shares) in sorted(self.splits.items())
        ]

    # -- reported once ----------------------------------------------------------------------

    def note(self, plan: Plan, positions: Mapping[str, Decimal], cash: Decimal) -> None:
        """Remember what a decision reported as lasting (see the module docstring)."""
        for s in plan.skipped:
            if s.reason.startswith(UNBALANCEABLE):
                self.unbalanceable[s.symbol] = positions.get(s.symbol, Decimal(0))
                self._cash_at_report = cash
        if any(r.startswith("minimum ") and NEVER_MET in r for r in plan.reasons):
            self.never_met = True

    def quiet(self, minimum: Decimal, value: float) -> bool:  # minimum: the larger of both
        """True while a reported unmeetable ``minimum`` is still larger than the portfolio."""
        if self.never_met and float(minimum) > value:
            return True
        self.never_met = False
        return False

    def still_out(
        self, out_of_band: Sequence[str], positions: Mapping[str, Decimal], cash: Decimal
    ) -> list[str]:
        """``out_of_band`` without the assets already reported as unbalanceable (while their
        shares are unchanged), and without cash when it is out of band only for them."""
        if not self.unbalanceable:
            return list(out_of_band)
        for sym, held in list(self.unbalanceable.items()):
            if positions.get(sym, Decimal(0)) != held:
                del self.unbalanceable[sym]
        out = [s for s in out_of_band if s not in self.unbalanceable]
        if out == [CASH] and self.unbalanceable and cash == self._cash_at_report:
            return []
        return out


__all__ = ["HOLD_UNTIL", "NEVER_MET", "UNBALANCEABLE", "Holds"]
