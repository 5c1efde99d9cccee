"""Taxable accounts: lots and the holding-period rule (``lots``), the order a sale relieves
them in (``relief``), the ledger (``ledger``), wash sales (``wash_sales``), reports
(``report``), sale previews and the buy blackout (``estimate``), the strict lot-file reader
(``lot_import``), the engine's live ledger (``live_lots``), a taxable account's selling policy
for the planner (``policy``) and tax-loss harvesting (``harvest``).

Import from the modules themselves inside the core; this package re-exports the public names
for the outside, lazily (PEP 562): importing one module of the package does not import the
others, so the package's own modules never meet in an import circle through it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daemon.core.tax.ledger import LotLedger
    from daemon.core.tax.lots import Lot, ReliefMethod

_WHERE = {
    "Lot": "daemon.core.tax.lots",
    "LotLedger": "daemon.core.tax.ledger",
    "ReliefMethod": "daemon.core.tax.lots",
}

__all__ = ["Lot", "LotLedger", "ReliefMethod"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
