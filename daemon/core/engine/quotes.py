"""The quote half of the Engine: prices and drift per quote, a decision per breach.

``QuoteUpdated`` is one quote; ``QuoteBatch`` is the quotes of one websocket frame. Both
take every quote the same way: keep the quote event itself (``Quote`` objects are built only
to plan), suspect a split on a one-quote move of ``planner.split_suspect_ratio``
(``engine_holds``), update the drift tracker in O(1). A single quote goes through ``_take``;
a batch in one pass of ``DriftTracker.take_quotes`` (the same steps, inlined). A breach
(``DriftTracker.update_quote`` returns True; never on a suspected split) decides in
threshold and hybrid modes while no run is in progress: a single quote decides at its own
time; a batch decides at most once, after its last quote, at the batch's ``at``, so a frame
of a hundred quotes plans once, with all of its prices.

Precisely (``tests/core/test_engine_batches.py``, ``tests/core/test_drift_batches.py``):
after a batch the engine is in the state the same quotes one by one leave it in (the drift
bit for bit), with the same split alerts in the same order; it then decides iff one of its
quotes breached with no run in progress, as ``_decide`` at ``at`` would on that state.

``Quoting`` is a base of ``Engine``; the attributes it reads are the engine's.
"""

from __future__ import annotations

from decimal import Decimal

from daemon.core import events as ev
from daemon.core.commands import Alert, Command, RequestReconcile
from daemon.core.config.values import TriggerMode
from daemon.core.engine.deciding import Deciding
from daemon.core.engine.holds import HOLD_UNTIL

_ZERO = Decimal(0)
THRESHOLD_MODES = frozenset({TriggerMode.THRESHOLD, TriggerMode.HYBRID})


class Quoting(Deciding):
    # the Engine's (set in Engine.__init__)
    _split_suspect: float
    _quotes: dict[str, ev.QuoteUpdated]

    def quote(self, symbol: str) -> ev.QuoteUpdated | None:
        """The latest quote event of ``symbol`` (None: none yet), as it came."""
        return self._quotes.get(symbol)

    def _on_quote(self, e: ev.QuoteUpdated) -> list[Command]:
        jump: list[Command] = []
        if (
            self._take(e, jump)
            and self._run is None
            and self._config.trigger.mode in THRESHOLD_MODES
        ):
            return self._decide(e.at, force=False)
        return jump

    def _on_batch(self, e: ev.QuoteBatch) -> list[Command]:
        # one pass over the frame (``DriftTracker.take_quotes``): the quote events kept, the
        # split check against each symbol's previous quote event, the drift; then the
        # suspected splits in order (``_price_jump`` without its drift update)
        jumps: list[tuple[ev.QuoteUpdated, float]] = []
        breached = self._drift.take_quotes(e.quotes, self._quotes, self._split_suspect, jumps)
        cmds: list[Command] = []
        for q, ratio in jumps:
            cmds.extend(self._suspect_split(q, ratio))
        if breached and self._run is None and self._config.trigger.mode in THRESHOLD_MODES:
            cmds.extend(self._decide(e.at, force=False))
        return cmds

    def _take(self, e: ev.QuoteUpdated, cmds: list[Command]) -> bool:
        """One quote into the prices and the drift; True on a breach. A suspected split
        appends its commands to ``cmds`` (and is never a breach)."""
        # the hot path (every quote of every frame): locals and one dict lookup per quote
        quotes = self._quotes
        prev = quotes.get(e.symbol)
        quotes[e.symbol] = e
        if prev is not None:
            now_sum, prev_sum = e.bid + e.ask, prev.bid + prev.ask
            split = self._split_suspect
            if (now_sum > prev_sum * split or prev_sum > now_sum * split) and (
                e.bid > 0 and e.ask > 0 and prev.bid > 0 and prev.ask > 0
            ):
                cmds.extend(self._price_jump(e, now_sum / prev_sum))
                return False
        return self._drift.update_quote(e.symbol, e.bid, e.ask)

    def _price_jump(self, e: ev.QuoteUpdated, ratio: float) -> list[Command]:
        self._drift.update_quote(e.symbol, e.bid, e.ask)
        return self._suspect_split(e, ratio)

    def _suspect_split(self, e: ev.QuoteUpdated, ratio: float) -> list[Command]:
        if not self._holds.suspect_split(e.symbol, ratio, self._positions.get(e.symbol, _ZERO)):
            return []
        why = f"{e.symbol} moved x{ratio:.3g} in one quote (a split?): {HOLD_UNTIL}"
        return [RequestReconcile(why, (e.symbol,)), Alert("warning", why)]

    def _on_split(self, e: ev.SplitAnnounced) -> list[Command]:
        self._lots.on_split(e.symbol, e.ratio, self._positions.get(e.symbol, _ZERO), e.at)
        if not self._holds.split_recorded(e.symbol):
            return []
        return [Alert("info", f"split of {e.symbol} ({e.ratio:g} for 1) recorded: trading on")]


__all__ = ["THRESHOLD_MODES", "Quoting"]
