"""The Engine's tax-loss harvesting half (``[tax.harvest]``; the rules: ``harvest``).

At each decision the engine first asks whether a swap is due back (the 30-day window is
over and the substitute's gain is small) or a harvest is due; either starts a run of its own
(one gate per run, follow-up rounds as usual) on the config *view*: the base config with
each swapped primary's target given to its substitute (``harvest.swapped``). The view is
``Engine._config`` (drift, triggers and the planner see it); ``_base_config`` is the file's
(or the model's) config. Swaps are re-derived from the positions at the first snapshot
(a restart), so none is journaled. A swap whose primary is still held and whose
substitute is not, once no run is in progress (the harvest's sale failed or was gated), is
dropped at the next snapshot: the primary is never sold later at what may be a gain.

``Harvesting`` is a base of ``Deciding``; the attributes it reads are the engine's.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from daemon.core.commands import Command
from daemon.core.config.values import Config
from daemon.core.model import Holdings, Quote
from daemon.core.tax.harvest import derive_swaps, find_harvest, find_return, swapped
from daemon.core.tax.live_lots import LiveLots, trade_day
from daemon.core.triggers.drift import DriftTracker
from daemon.core.triggers.rules import TriggerState, record_run

_ZERO = Decimal(0)


class Harvesting:
    _config: Config
    _base_config: Config
    _swaps: dict[str, str]
    _leaving: set[str]
    _swaps_derived: bool
    _cash: Decimal | None
    _positions: dict[str, Decimal]
    _drift: DriftTracker
    _lots: LiveLots
    _triggers: TriggerState
    _run: object | None
    _follow_up: object | None

    if TYPE_CHECKING:

        def quotes(self) -> dict[str, Quote]: ...

        def _start_round(
            self, now: datetime, reasons: tuple[str, ...], round_no: int, rejected: set[str]
        ) -> list[Command]: ...

    def _rebase(self, base: Config) -> None:
        """A new base config (a reload, new targets, a swap): the view and the drift."""
        self._base_config = base
        on = base.tax.taxable and base.tax.harvest.enabled  # off: the base config as it is
        config = swapped(base, self._swaps, self._leaving) if on else base
        prices = self._drift.prices()
        self._config = config
        holdings = Holdings(self._cash or _ZERO, dict(self._positions))
        self._drift = DriftTracker(config, holdings, prices)

    def _harvest_positions(self) -> None:
        """After a snapshot: derive swaps once (a restart); a substitute sold out leaves."""
        base = self._base_config
        if not (base.tax.taxable and base.tax.harvest.enabled):
            return
        changed = False
        if not self._swaps_derived:
            self._swaps_derived = True
            derived = derive_swaps(base, self._positions)
            changed = derived != self._swaps
            self._swaps = derived
        gone = {s for s in self._leaving if self._positions.get(s, _ZERO) <= 0}
        if gone:
            self._leaving -= gone
            changed = True
        if self._run is None and self._follow_up is None:  # a harvest that did not happen
            held = self._positions
            undone = [p for p, s in self._swaps.items()
                      if held.get(p, _ZERO) > 0 and held.get(s, _ZERO) <= 0]
            for p in undone:  # (the sale failed or was gated): never sell it at a gain later
                del self._swaps[p]
            changed = changed or bool(undone)
        if changed:
            self._rebase(base)

    def _harvest(self, now: datetime) -> list[Command] | None:
        """A harvest or a return run when one is due; None when none is."""
        base = self._base_config
        if not (base.tax.taxable and base.tax.harvest.enabled):
            return None
        if self._lots.untrusted is not None:  # stale lots: a "loss" may not exist (alerted)
            return None
        prices = {
            s: (Decimal(repr(q.bid)) + Decimal(repr(q.ask))) / 2
            for s, q in self.quotes().items() if q.bid > 0 and q.ask > 0
        }
        day, ledger = trade_day(now), self._lots.ledger
        back = find_return(base, ledger, prices, day, self._swaps)
        if back is not None:
            primary, sub = back
            del self._swaps[primary]
            self._leaving.add(sub)
            reason = (f"harvest over: the wash-sale window of {primary} has passed; back from "
                      f"{sub} to {primary}")
        else:
            h = find_harvest(base, ledger, prices, day, self._swaps)
            if h is None:
                return None
            self._swaps[h.primary] = h.substitute
            self._leaving.discard(h.substitute)
            reason = h.reason
        self._rebase(base)
        self._triggers = record_run(self._triggers, now, base.trigger.timezone, False)
        return self._start_round(now, (reason,), 1, set())


__all__ = ["Harvesting"]
