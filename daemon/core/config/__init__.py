"""The configuration: frozen values (``values``), the strict TOML reader (``reader``) with its
field readers (``fields``), the non-portfolio sections (``sections``), every number's range
(``ranges``), and the ``[targets.model]``, ``[tax]`` and ``[backtest.sweep]`` sections
(``model_targets``, ``tax``, ``backtest``).

Import from the modules themselves inside the core; this package re-exports the public names
for the outside, lazily (PEP 562): importing one module of the package does not import the
others, so the package's own modules never meet in an import circle through it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daemon.core.config.reader import parse_config, parse_config_text
    from daemon.core.config.values import Config

_WHERE = {
    "Config": "daemon.core.config.values",
    "parse_config": "daemon.core.config.reader",
    "parse_config_text": "daemon.core.config.reader",
}

__all__ = ["Config", "parse_config", "parse_config_text"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
