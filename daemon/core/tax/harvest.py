"""Tax-loss harvesting (``[tax.harvest]``): when to sell a position at a loss and hold a
substitute instead, and when to go back. Pure; the engine runs it (``engine_harvest``).

**Harvest.** A primary symbol ``P`` with substitutes (``[tax.harvest.substitutes]``) is
harvested when *all* its lots are at a loss at the price (on Alpaca relief is FIFO: selling
a later lot means selling every earlier one, so a position with gain lots in front is not
harvested) and one lot's loss passes both ``min_loss_percent`` of its basis and
``min_loss_dollars``. The loss counted is what the wash-sale rule allows (``preview_sale``:
a buy of ``P``'s group in the 30 days before the sale washes it; no harvest then). The
substitute is the first of ``P``'s list with a price whose group has no loss sale in the
last 30 days (``buy_washes_until``). The harvest is one run of the planner on a config in
which ``S`` takes ``P``'s target and band and ``P`` has target 0 (:func:`swapped`): the
plan sells ``P`` and the buys put the proceeds into ``S``; the allocation is kept.

**The wash-sale guard.** While swapped, ``P`` has target 0, so the plan never buys it; and
the planner's tax policy blocks any buy of a group within 30 days after its loss sale
(``tax_planning.block_buys``), whichever symbol of the group.

**Return.** Once a buy of ``P`` no longer washes the loss (31 days after the sale) and
selling ``S`` would realise a gain of at most ``return_max_gain_dollars`` (a loss is
fine, unless it would be washed itself: IRS Pub. 550 disallows a loss when substantially
identical stock is bought within 30 days before or after the sale, so while a buy of
``S``'s own group in the 30 days before, another symbol of it or a linked IRA's, would
wash ``S``'s loss, the return waits; the buys after it are the planner's wash-sale guard's,
and ``P`` is never in ``S``'s group, which the config refuses), the swap is undone: a run on the base config sells ``S`` (a non-target holding of
target 0) and buys ``P`` back. A larger gain keeps ``S`` (it is ``P``'s stand-in for as
long as that holds; the daemon re-derives swaps after a restart from the positions: a held
substitute of an unheld primary).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from daemon.core.config.values import AssetConfig, Config
from daemon.core.planning.sizing import money
from daemon.core.tax.estimate import buy_washes_until, preview_sale
from daemon.core.tax.ledger import LotLedger
from daemon.core.tax.lots import ZERO
from daemon.core.tax.wash_sales import WASH_WINDOW_DAYS

__all__ = ["Harvest", "derive_swaps", "find_harvest", "find_return", "swapped"]


@dataclass(frozen=True, slots=True)
class Harvest:
    primary: str
    substitute: str
    qty: Decimal  # shares of the primary sold
    loss: Decimal  # the allowed loss (> 0)
    reason: str


def swapped(
    base: Config, swaps: Mapping[str, str], leaving: Collection[str] = ()
) -> Config:
    """``base`` with each swapped primary's target and band given to its substitute, and
    the primary at target 0 (sell what is held, buy none); substitutes ``leaving`` (a
    return) at target 0 too."""
    if not swaps and not leaving:
        return base
    assets: list[AssetConfig] = []
    for a in base.portfolio.assets:
        sub = swaps.get(a.symbol)
        if sub is None:
            assets.append(a)
            continue
        assets.append(replace(a, target=0.0))
        assets.append(AssetConfig(sub, a.target, a.band, fractional=a.fractional))
    have = {a.symbol for a in assets}
    assets.extend(AssetConfig(s, 0.0, base.bands) for s in sorted(leaving) if s not in have)
    return replace(base, portfolio=replace(base.portfolio, assets=tuple(assets)))


def derive_swaps(base: Config, positions: Mapping[str, Decimal]) -> dict[str, str]:
    """Swaps the positions show: a held substitute (not a target) of an unheld primary."""
    targets = set(base.symbols)
    out: dict[str, str] = {}
    for primary, subs in sorted(base.tax.harvest.substitutes.items()):
        if primary not in targets or positions.get(primary, ZERO) > 0:
            continue
        for s in subs:
            if s not in targets and positions.get(s, ZERO) > 0:
                out[primary] = s
                break
    return out


def find_harvest(
    base: Config, ledger: LotLedger, prices: Mapping[str, Decimal], day: date,
    swaps: Mapping[str, str],
) -> Harvest | None:
    """The first primary (by symbol) due for a harvest, or None."""
    h = base.tax.harvest
    if not (base.tax.taxable and h.enabled):
        return None
    targets = set(base.symbols)
    for primary in sorted(h.substitutes):
        price = prices.get(primary)
        lots = ledger.lots(primary)
        if primary in swaps or primary not in targets or price is None or not lots:
            continue
        if any(lot.unrealised(price) >= 0 for lot in lots):
            continue  # a lot at a gain (FIFO would sell it too): not harvested
        fraction = Decimal(repr(h.min_loss_fraction))
        if not any(-lot.unrealised(price) >= max(h.min_loss_dollars, fraction * lot.basis)
                   for lot in lots):
            continue  # (cheap first: most checks end here, before any preview)
        qty = ledger.position(primary)
        parts = preview_sale(ledger, primary, qty, price, day)
        allowed = {p.lot_id: -p.gain for p in parts}
        if any(p.adjustment for p in parts):
            continue  # a recent buy of the group would wash the loss
        big = [
            lot for lot in lots
            if allowed.get(lot.lot_id, ZERO) >= max(h.min_loss_dollars, fraction * lot.basis)
        ]
        if not big:
            continue
        sub = next((s for s in h.substitutes[primary] if s in prices and s not in targets
                    and s not in swaps.values()
                    and buy_washes_until(ledger, s, day) is None), None)
        if sub is None:
            continue
        loss = sum(allowed.values(), ZERO)
        lot = big[0]
        why = (f"tax-loss harvest: sell {qty} {primary} (loss {money(loss)}; lot {lot.lot_id} "
               f"{money(allowed[lot.lot_id])}, {allowed[lot.lot_id] / lot.basis:.1%} of its "
               f"basis) and hold {sub} instead; no buy of {primary}'s group before "
               f"{day + timedelta(days=WASH_WINDOW_DAYS + 1)}")
        return Harvest(primary, sub, qty, loss, why)
    return None


def find_return(
    base: Config, ledger: LotLedger, prices: Mapping[str, Decimal], day: date,
    swaps: Mapping[str, str],
) -> tuple[str, str] | None:
    """A swap (primary, substitute) due to be undone, or None."""
    limit = base.tax.harvest.return_max_gain_dollars
    for primary, sub in sorted(swaps.items()):
        if buy_washes_until(ledger, primary, day) is not None:
            continue  # still inside the window
        price = prices.get(sub)
        if price is None or primary not in prices:
            continue
        lots = ledger.lots(sub)
        gain = sum((lot.unrealised(price) for lot in lots), ZERO)
        if gain > limit:
            continue  # the substitute stays the primary's stand-in
        if any(lot.unrealised(price) < 0 for lot in lots):
            # the sale realises a loss: a buy of the substitute's own group in the 30 days
            # before it (another symbol of the group, a linked IRA's) would wash it
            parts = preview_sale(ledger, sub, ledger.position(sub), price, day)
            if any(p.adjustment for p in parts):
                continue  # wait for that buy's window to pass too
        return primary, sub
    return None
