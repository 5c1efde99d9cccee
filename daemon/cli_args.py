"""Argument types the subcommands share (argparse ``type=`` callables)."""

from __future__ import annotations

import argparse
from datetime import date


def iso_date(text: str) -> date:
    """``YYYY-MM-DD``; anything else is a usage error naming the value."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD") from None


__all__ = ["iso_date"]
