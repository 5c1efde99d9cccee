"""Lazy re-exports for the core's subpackages (PEP 562 ``__getattr__``).

A subpackage's ``__init__`` names its public API for the outside without importing it:
importing one module of a package runs the package's ``__init__``, and eager re-exports
there made import circles for some import orders (``tests/core/test_purity.py`` imports
every core module first to prove there are none).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy"]


def lazy(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: each name in ``where`` from its module, on first use."""

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(importlib.import_module(where[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
