"""Taxable accounts: lots and the holding-period rule (``lots``), the order a sale relieves
them in (``relief``), the ledger (``ledger``), wash sales (``wash_sales``), reports
(``report``), sale previews and the buy blackout (``estimate``), the strict lot-file reader
(``lot_import``), the engine's live ledger (``live_lots``), a taxable account's selling policy
for the planner (``policy``) and tax-loss harvesting (``harvest``).

Inside the core, import the modules themselves; the names below are for the outside,
loaded on first use (``daemon.core.reexport``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from daemon.core.reexport import lazy

if TYPE_CHECKING:
    from daemon.core.tax.ledger import LotLedger
    from daemon.core.tax.lots import Lot, ReliefMethod

_WHERE = {
    "Lot": "daemon.core.tax.lots",
    "LotLedger": "daemon.core.tax.ledger",
    "ReliefMethod": "daemon.core.tax.lots",
}

__all__ = ["Lot", "LotLedger", "ReliefMethod"]

__getattr__ = lazy(__name__, _WHERE)
