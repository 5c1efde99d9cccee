"""The ``[tax]`` section: how the account is taxed, and the tax rules' parameters.

Used by tax-aware planning (``tax_planning``; its ``widen_bands`` applies the band
multiplier when the file is parsed). ``rebalanced check-config`` checks it strictly, like every other
section: unknown keys, wrong types, out-of-range values and contradictions are reported
together, each with its key path.

An absent ``[tax]`` means a tax-deferred account (the daemon behaves as it always has); a
present one must say ``account`` explicitly. Rates and thresholds are percent in the file
and fractions here. A relief method other than the broker's FIFO (Alpaca's, which takes no
per-order lot instruction) is refused unless ``acknowledge_method_differs_from_broker =
true``; ``specific_id`` is refused for the daemon (it needs the lots named per sale).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from daemon.core.config.fields import Reader, type_name
from daemon.core.tax.lots import BROKER_METHOD, ReliefMethod

__all__ = ["HARVEST_KEYS", "TAX_KEYS", "AccountKind", "HarvestConfig", "TaxConfig", "tax_section"]

_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9./]{0,14}$")


class AccountKind(enum.StrEnum):
    TAXABLE = "taxable"
    TAX_DEFERRED = "tax_deferred"  # an IRA, a 401(k): trades have no tax consequence


@dataclass(frozen=True, slots=True)
class HarvestConfig:
    """Tax-loss harvesting: sell a lot whose unrealised loss passes both thresholds and buy
    a substitute (a symbol outside its wash-sale group)."""

    enabled: bool = False
    min_loss_fraction: float = 0.05  # of the lot's basis
    min_loss_dollars: Decimal = Decimal(500)
    substitutes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    return_max_gain_dollars: Decimal = Decimal(100)  # back to the primary when the gain ≤


@dataclass(frozen=True, slots=True)
class TaxConfig:
    account: AccountKind = AccountKind.TAX_DEFERRED
    st_rate: float = 0.32  # fraction: the marginal rate on short-term gains
    lt_rate: float = 0.15  # fraction: on long-term gains
    relief_method: ReliefMethod = BROKER_METHOD
    acknowledge_method_differs_from_broker: bool = False
    band_multiplier: float = 1.0  # taxable accounts: bands × this (5 pp × 1.4 = 7 pp)
    never_realize_short_term_gains: bool = False
    wait_for_long_term_days: int = 30  # a short-term gain this close to long-term waits
    annual_gain_budget: Decimal | None = None  # $ of net realised gains per year; None: none
    # an asset outside this × its (widened) band: the cost gate leaves the tax out
    # (tax_planning.drift_bound); None: no bound, the tax always counts
    max_drift_band_multiple: float | None = 2.0
    wash_sale_groups: Mapping[str, str] = field(default_factory=dict)  # symbol → group
    linked_buys_file: str | None = None  # a linked IRA's buys (CSV), read at start-up
    harvest: HarvestConfig = field(default_factory=HarvestConfig)

    @property
    def taxable(self) -> bool:
        return self.account is AccountKind.TAXABLE

    def group_of(self, symbol: str) -> str:
        return self.wash_sale_groups.get(symbol, symbol)


TAX_KEYS = tuple(f.name for f in fields(TaxConfig))
HARVEST_KEYS = ("enabled", "min_loss_percent", "min_loss_dollars", "substitutes",
                "return_max_gain_dollars")


def tax_section(r: Reader, tbl: Mapping[str, Any], *, present: bool = True) -> TaxConfig:
    p, d = "tax", TaxConfig()
    if not present:
        return d
    if "account" not in tbl:
        r.problem(f"{p}.account", "missing: say account = \"taxable\" or \"tax_deferred\" "
                  "(a [tax] section must say which)")
    account = r.member(tbl, "account", p, d.account)
    st = r.number(tbl, "st_rate", p, d.st_rate * 100, minimum=0.0, maximum=100.0, unit="%")
    lt = r.number(tbl, "lt_rate", p, d.lt_rate * 100, minimum=0.0, maximum=100.0, unit="%")
    if lt > st:
        r.problem(f"{p}.lt_rate", f"is {lt:g} %, above st_rate {st:g} %: long-term gains are "
                  "not taxed more than short-term ones; check the two rates")
    method = r.member(tbl, "relief_method", p, d.relief_method)
    ack = r.boolean(tbl, "acknowledge_method_differs_from_broker", p, False)
    if method is ReliefMethod.SPECIFIC_ID:
        r.problem(f"{p}.relief_method", "specific_id needs the lots named for every sale, "
                  "which the daemon cannot do: use fifo (Alpaca's), or another method with "
                  "acknowledge_method_differs_from_broker = true")
    elif method is not BROKER_METHOD and not ack:
        r.problem(f"{p}.relief_method", f"{method.value} differs from the broker's "
                  f"{BROKER_METHOD.value} (Alpaca relieves FIFO and takes no per-order lot "
                  "instruction), so the ledger would not match its 1099-B: use fifo, or set "
                  "acknowledge_method_differs_from_broker = true")
    multiplier = r.number(tbl, "band_multiplier", p, d.band_multiplier, minimum=1.0,
                          maximum=5.0)
    wait = r.integer(tbl, "wait_for_long_term_days", p, d.wait_for_long_term_days,
                     minimum=0, maximum=365)
    budget: Decimal | None = d.annual_gain_budget
    if "annual_gain_budget" in tbl and tbl["annual_gain_budget"] is not False:
        budget = r.decimal(tbl, "annual_gain_budget", p, Decimal(0), unit="$")
    bound: float | None = None  # false: no drift bound
    if tbl.get("max_drift_band_multiple") is not False:
        bound = r.number(tbl, "max_drift_band_multiple", p, 2.0, minimum=1.0, maximum=20.0)
    groups = _groups(r, tbl.get("wash_sale_groups", {}), f"{p}.wash_sale_groups")
    harvest = _harvest(r, r.table(tbl, "harvest", f"{p}.harvest", HARVEST_KEYS), groups)
    if harvest.enabled and account is not AccountKind.TAXABLE:
        r.problem(f"{p}.harvest.enabled", "harvesting losses needs account = \"taxable\": a "
                  "tax-deferred account has no losses to deduct")
    return TaxConfig(
        account=account,
        st_rate=st / 100,
        lt_rate=lt / 100,
        relief_method=method,
        acknowledge_method_differs_from_broker=ack,
        band_multiplier=multiplier,
        never_realize_short_term_gains=r.boolean(tbl, "never_realize_short_term_gains", p,
                                                 d.never_realize_short_term_gains),
        wait_for_long_term_days=wait,
        annual_gain_budget=budget,
        max_drift_band_multiple=bound,
        wash_sale_groups=groups,
        linked_buys_file=r.optional_string(tbl, "linked_buys_file", p, None),
        harvest=harvest,
    )


def _ticker(r: Reader, symbol: object, path: str) -> bool:
    if not isinstance(symbol, str) or not _TICKER.match(symbol):
        r.problem(path, f"{symbol!r} is not a ticker symbol (upper case, e.g. \"VTI\")")
        return False
    return True


def _groups(r: Reader, raw: object, path: str) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        r.problem(path, f"expected a table of symbol = \"group\", got {type_name(raw)}")
        return {}
    out: dict[str, str] = {}
    for symbol, group in raw.items():
        if not _ticker(r, symbol, f"{path}.{symbol}"):
            continue
        if not isinstance(group, str) or not group.strip():
            r.problem(f"{path}.{symbol}", f"expected a group name in quotes, got "
                      f"{type_name(group)}")
            continue
        out[symbol] = group.strip()
    return out


def _harvest(r: Reader, tbl: Mapping[str, Any], groups: Mapping[str, str]) -> HarvestConfig:
    p, d = "tax.harvest", HarvestConfig()
    pct = r.number(tbl, "min_loss_percent", p, d.min_loss_fraction * 100, minimum=0.0,
                   maximum=100.0, exclusive_min=True, unit="%")
    subs: dict[str, tuple[str, ...]] = {}
    raw = tbl.get("substitutes", {})
    if not isinstance(raw, Mapping):
        r.problem(f"{p}.substitutes", f"expected a table of symbol = [\"SUB\", …], got "
                  f"{type_name(raw)}")
        raw = {}
    for symbol, items in raw.items():
        path = f"{p}.substitutes.{symbol}"
        if not _ticker(r, symbol, path):
            continue
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list) or not items:
            r.problem(path, f"expected a list of symbols, got {type_name(items)}")
            continue
        good = []
        for sub in items:
            if not _ticker(r, sub, path):
                continue
            if sub == symbol or groups.get(sub, sub) == groups.get(symbol, symbol):
                r.problem(path, f"{sub} is in {symbol}'s wash-sale group: buying it after a "
                          "harvest would wash the loss; pick a symbol from another group")
                continue
            good.append(sub)
        subs[symbol] = tuple(good)
    return HarvestConfig(
        enabled=r.boolean(tbl, "enabled", p, d.enabled),
        min_loss_fraction=pct / 100,
        min_loss_dollars=r.decimal(tbl, "min_loss_dollars", p, d.min_loss_dollars, unit="$"),
        substitutes=subs,
        return_max_gain_dollars=r.decimal(tbl, "return_max_gain_dollars", p,
                                          d.return_max_gain_dollars, unit="$"),
    )
