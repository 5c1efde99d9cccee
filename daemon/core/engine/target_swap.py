"""Swapping the portfolio's target weights for a model's (``TargetsChanged``), pure.

The event must name exactly the configured assets, each once, with finite weights ≥ 0 that
sum with the configured cash target to 1 (within 1e-6). Anything else is refused with a
warning and the old targets stay: a model adapter's bug must never move money. Bands,
per-asset properties and the cash target are kept; only ``AssetConfig.target`` changes.
"""

from __future__ import annotations

import math
from dataclasses import replace

from daemon.core.commands import Alert, Command
from daemon.core.config.values import Config
from daemon.core.events import TargetsChanged

__all__ = ["SUM_TOLERANCE", "swap_targets"]

SUM_TOLERANCE = 1e-6


def _problem(config: Config, e: TargetsChanged) -> str | None:
    symbols = config.symbols
    given = [s for s, _ in e.targets]
    if sorted(given) != sorted(symbols):
        missing = sorted(set(symbols) - set(given))
        extra = sorted(set(given) - set(symbols))
        dup = sorted({s for s in given if given.count(s) > 1})
        return (
            f"the symbols do not match the portfolio's (missing {missing}, not targets "
            f"{extra}, repeated {dup})"
        )
    for s, w in e.targets:
        if not math.isfinite(w) or w < 0:
            return f"{s} has weight {w!r}; a weight is a finite fraction ≥ 0"
    total = math.fsum(w for _, w in e.targets) + config.portfolio.cash_target
    if abs(total - 1.0) > SUM_TOLERANCE:
        return f"weights plus cash_target sum to {total:.9f}, not 1"
    return None


def swap_targets(config: Config, e: TargetsChanged) -> tuple[Config, list[Command]]:
    """(the config with the event's targets, commands to emit); on a bad event the same
    config object and a warning."""
    problem = _problem(config, e)
    span = f"inputs {e.inputs_from.isoformat()}…{e.inputs_to.isoformat()}"
    if problem is not None:
        return config, [
            Alert(
                "warning",
                f"targets from {e.source} ({span}) refused: {problem}; the old targets stay",
            )
        ]
    weights = dict(e.targets)
    assets = tuple(replace(a, target=weights[a.symbol]) for a in config.portfolio.assets)
    new = replace(config, portfolio=replace(config.portfolio, assets=assets))
    shown = ", ".join(f"{s} {w * 100:.2f}%" for s, w in e.targets)
    return new, [Alert("info", f"targets changed by {e.source} ({span}): {shown}")]
