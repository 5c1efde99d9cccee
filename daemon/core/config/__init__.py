"""The configuration: frozen values (``values``), the strict TOML reader (``reader``) with its
field readers (``fields``), the non-portfolio sections (``sections``), every number's range
(``ranges``), and the ``[targets.model]``, ``[tax]`` and ``[backtest.sweep]`` sections
(``model_targets``, ``tax``, ``backtest``).

Import from the modules themselves inside the core; this package re-exports the public names.
"""

from daemon.core.config.reader import parse_config, parse_config_text
from daemon.core.config.values import Config

__all__ = ["Config", "parse_config", "parse_config_text"]
