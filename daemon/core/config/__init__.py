"""The configuration: frozen values (``values``), the strict TOML reader (``reader``) with its
field readers (``fields``), the non-portfolio sections (``sections``), every number's range
(``ranges``), and the ``[targets.model]``, ``[tax]`` and ``[backtest.sweep]`` sections
(``model_targets``, ``tax``, ``backtest``).

Inside the core, import the modules themselves; the names below are for the outside,
loaded on first use (``daemon.core.reexport``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from daemon.core.reexport import lazy

if TYPE_CHECKING:
    from daemon.core.config.reader import parse_config, parse_config_text
    from daemon.core.config.values import Config

_WHERE = {
    "Config": "daemon.core.config.values",
    "parse_config": "daemon.core.config.reader",
    "parse_config_text": "daemon.core.config.reader",
}

__all__ = ["Config", "parse_config", "parse_config_text"]

__getattr__ = lazy(__name__, _WHERE)
