"""Fixtures that find, or install, the real tools the deploy tests run (``tests/tools.py``):
``systemd-analyze`` comes with Debian's ``systemd`` package, ``promtool`` and ``prometheus``
with ``prometheus``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
PROM_DIR = DEPLOY / "prometheus"
GRAFANA_DIR = DEPLOY / "grafana"
OPERATIONS_MD = REPO / "docs" / "operations.md"
UNIT = DEPLOY / "rebalanced.service"

@pytest.fixture(scope="session")
def systemd_analyze() -> str:
    return require_tool("systemd-analyze", "systemd")


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    return require_tool("prometheus", "prometheus")


def venv_rebalanced() -> Path:
    """The ``rebalanced`` console script of the environment running the tests."""
    script = Path(sys.executable).parent / "rebalanced"
    if not script.exists():
        pytest.fail(
            f"{script} is missing: install the project into the venv "
            "(make test does: pip install -e '.[test]')"
        )
    return script


@pytest.fixture
def testable_unit(tmp_path: Path) -> Iterator[Path]:
    """A copy of the shipped unit whose ExecStart points at this venv's ``rebalanced``:
    ``systemd-analyze verify`` insists that the binary exists, and /opt/rebalanced is only
    there on a real install."""
    text = UNIT.read_text().replace("/opt/rebalanced/venv/bin/rebalanced", str(venv_rebalanced()))
    path = tmp_path / "rebalanced.service"
    path.write_text(text)
    yield path
