"""Taxable accounts: lots and the holding-period rule (``lots``), the order a sale relieves
them in (``relief``), the ledger (``ledger``), wash sales (``wash_sales``), reports
(``report``), sale previews and the buy blackout (``estimate``), the strict lot-file reader
(``lot_import``), the engine's live ledger (``live_lots``), a taxable account's selling policy
for the planner (``policy``) and tax-loss harvesting (``harvest``).

Import from the modules themselves inside the core; this package re-exports the public names.
"""

from daemon.core.tax.ledger import LotLedger
from daemon.core.tax.lots import Lot, ReliefMethod

__all__ = ["Lot", "LotLedger", "ReliefMethod"]
