"""Rough PromQL reading for the deploy tests: which of our metric names an expression uses,
and which names a fresh ``Metrics`` registry exports (the contract in
``daemon/runtime/metrics.py``)."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry

from daemon.runtime.metrics import Metrics

_METRIC = re.compile(r"(?<![\w:])rebalanced_[a-z0-9_]+(?![\w:])")
_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("", "_count", "_sum"),
    "info": ("_info",),
}


def referenced_metrics(expr: str) -> set[str]:
    """Every ``rebalanced_*`` name in a PromQL expression (strings and label values
    included, which is fine: ours never contain such a word)."""
    return set(_METRIC.findall(expr))


def exported_metric_names() -> set[str]:
    """Series names a fresh registry can expose, labelled families with no child yet too."""
    registry = CollectorRegistry()
    Metrics(registry)
    names: set[str] = set()
    for family in registry.collect():
        for suffix in _SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def markdown_anchors(markdown: str) -> set[str]:
    return {github_anchor(m) for m in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.M)}
