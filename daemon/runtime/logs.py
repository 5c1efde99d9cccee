"""Structured logging: structlog, JSON lines in production (journald keeps them), a readable
console in a terminal. Secrets are scrubbed from every event before it is rendered."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

SECRET_KEY_HINTS = ("secret", "password", "token", "api_key", "key_id", "authorization")
REDACTED = "***"


class SecretScrubber:
    """A structlog processor: redacts values of secret-looking keys, and any occurrence of a
    registered secret value inside any string field (e.g. an exception message)."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def register(self, values: Iterable[str]) -> None:
        for v in values:
            if v and len(v) >= 4:
                self._values.add(v)

    def scrub_text(self, text: str) -> str:
        for v in self._values:
            if v in text:
                text = text.replace(v, REDACTED)
        return text

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]
                 ) -> MutableMapping[str, Any]:
        for k, v in list(event.items()):
            lk = k.lower()
            if any(h in lk for h in SECRET_KEY_HINTS) and v not in (None, ""):
                event[k] = REDACTED
            elif isinstance(v, str):
                event[k] = self.scrub_text(v)
            elif not isinstance(v, (int, float, bool)) and v is not None:
                text = str(v)
                scrubbed = self.scrub_text(text)
                if scrubbed != text:
                    event[k] = scrubbed
        return event


SCRUBBER = SecretScrubber()


def configure_logging(fmt: str = "auto", level: str = "info", stream: Any = None) -> None:
    """``fmt``: "json", "console" or "auto" (console when ``stream`` is a TTY)."""
    out = stream if stream is not None else sys.stdout
    if fmt == "auto":
        fmt = "console" if getattr(out, "isatty", lambda: False)() else "json"
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            SCRUBBER,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
