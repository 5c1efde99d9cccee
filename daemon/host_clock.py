"""The host's wall clock, defined once, for the composition roots (``daemon/cli*.py``) only:
every library below them takes its clock as an argument, so this is where a one-shot
command picks one."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The host's time, timezone-aware UTC."""
    return datetime.now(UTC)


__all__ = ["utc_now"]
