"""The engine's lots at start-up: the journal's rebuild, with a linked account's buys.

A taxable account's lots are rebuilt from the journaled fills and splits (so they survive a
restart); ``[tax] linked_buys_file`` adds another account's buys (an IRA's) for the
wash-sale guard. A linked-buys file that cannot be read or has bad rows stops the start
(exit 78, the file and its rows named): running without it would let the guard miss a
repurchase, which makes a harvested loss permanently disallowed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import structlog

from adapters.ports import Journal
from adapters.store.lot_journal import LotJournalError
from daemon.core.config.tax import TaxConfig
from daemon.core.tax.ledger import LinkedPurchase, LotLedger
from daemon.core.tax.live_lots import SeedLots, trade_day
from daemon.core.tax.lot_import import LotFileError, parse_linked_buys_csv

log = structlog.get_logger("rebalanced")

__all__ = ["LinkedBuysError", "linked_buys", "seed_lots"]


class LinkedBuysError(ValueError):
    """``[tax] linked_buys_file`` cannot be used; the message names the file and the fix."""


def linked_buys(path: str | None, now: datetime) -> list[LinkedPurchase]:
    if not path:
        return []
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise LinkedBuysError(
            f"tax.linked_buys_file {path!r} cannot be read ({e}): fix the path or remove the "
            "key (the wash-sale guard needs every linked buy)") from e
    try:
        return parse_linked_buys_csv(text, as_of=trade_day(now))
    except LotFileError as e:
        shown = "; ".join(str(p) for p in e.problems[:10])
        more = f" (and {len(e.problems) - 10} more)" if len(e.problems) > 10 else ""
        raise LinkedBuysError(
            f"tax.linked_buys_file {path!r} refused: {shown}{more}: fix the rows and start "
            "again") from e


async def seed_lots(journal: Journal, tax: TaxConfig, now: datetime) -> SeedLots:
    """The lots rebuilt from the journal (flushed first, so the intents' lookups count).
    When the journal's fills do not fit: an unseeded ledger holding only the linked buys
    (the engine seeds it from the broker's positions at the first snapshot) marked
    ``rebuild_failed`` with the reason, so the engine does not trust it for tax decisions
    and says so (plan notes, an Alert, ``rebalanced_lot_ledger_state``, ``/readyz``).
    Raises :class:`LinkedBuysError` for an unusable linked-buys file."""
    linked = linked_buys(tax.linked_buys_file, now)
    await journal.flush()
    try:
        seed = journal.seed_lots(tax, linked)
    except LotJournalError as e:
        log.warning("lot ledger not rebuilt", reason=str(e))
        # the engine seeds from the broker's positions, but the linked buys stay in the
        # wash-sale guard (without them a repurchase in the IRA would go unseen)
        ledger = LotLedger(tax.relief_method, dict(tax.wash_sale_groups))
        for buy in sorted(linked, key=lambda b: b.day):
            ledger.apply(buy)
        return SeedLots(ledger, seeded=False, rebuild_failed=str(e))
    for note in seed.notes:
        log.info("lot ledger", note=note)
    return seed
