"""The Prometheus configuration and alert rules, checked by the real promtool: the scrape
example and the rules are valid, the rule unit tests pass (each alert fires on a synthetic
series and stays quiet on a healthy one), and every rule names metrics the daemon exports
and a runbook section that exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import OPERATIONS_MD, PROM_DIR
from tests.deploy.promql_names import exported_metric_names, markdown_anchors, referenced_metrics

RULES = PROM_DIR / "rebalanced.rules.yml"
RULE_TESTS = PROM_DIR / "rebalanced.rules.test.yml"
DAILY_RULE_TESTS = PROM_DIR / "rebalanced.rules.daily.test.yml"  # 1-day windows, 5 min steps


def rule_tests_text() -> str:
    return RULE_TESTS.read_text() + DAILY_RULE_TESTS.read_text()


def _promtool(promtool: str, *args: str, cwd: Path = PROM_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def alert_blocks(text: str) -> dict[str, str]:
    """Alert name → the text of its rule (up to the next rule or group)."""
    parts = re.split(r"^\s*- alert: ", text, flags=re.M)[1:]
    blocks: dict[str, str] = {}
    for part in parts:
        name, _, body = part.partition("\n")
        body = re.split(r"^\s*- name: ", body, flags=re.M)[0]
        assert name.strip() not in blocks, f"duplicate alert {name}"
        blocks[name.strip()] = body
    return blocks


def expr_of(block: str) -> str:
    m = re.search(r"^\s*expr: (.+)$", block, flags=re.M)
    assert m, block
    return m.group(1)


@pytest.fixture(scope="module")
def alerts() -> dict[str, str]:
    return alert_blocks(RULES.read_text())


def test_promtool_checks_the_scrape_config(promtool: str) -> None:
    res = _promtool(promtool, "check", "config", "prometheus.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 rule files found" in res.stdout + res.stderr


def test_promtool_checks_the_rules(promtool: str, alerts: dict[str, str]) -> None:
    res = _promtool(promtool, "check", "rules", RULES.name)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {len(alerts)} rules found" in res.stdout + res.stderr


def test_promtool_rule_unit_tests_pass(promtool: str) -> None:
    res = _promtool(promtool, "test", "rules", RULE_TESTS.name, DAILY_RULE_TESTS.name)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("SUCCESS") == 2, res.stdout


def test_rule_unit_tests_catch_a_loosened_threshold(promtool: str, tmp_path: Path) -> None:
    """The unit tests are not vacuous: a rule that would page on a healthy series fails them."""
    loosened = RULES.read_text().replace(
        "rebalanced_event_queue_depth > 1000", "rebalanced_event_queue_depth > 5"
    )
    assert loosened != RULES.read_text()
    (tmp_path / RULES.name).write_text(loosened)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    res = _promtool(promtool, "test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert res.returncode != 0
    assert "RebalancedEventBacklog" in res.stdout + res.stderr
    assert 'instance="healthy:9108"' in res.stdout + res.stderr


def test_every_alert_has_a_firing_unit_test(alerts: dict[str, str]) -> None:
    tested = set(re.findall(r"^\s*- name: (\w+) fires", rule_tests_text(), flags=re.M))
    assert tested == set(alerts), (
        f"untested: {set(alerts) - tested}; unknown: {tested - set(alerts)}"
    )
    fired = set(re.findall(r"alertname: (\w+)\n\s*exp_alerts:\n\s*- exp_labels", rule_tests_text()))
    assert fired == set(alerts), f"never expected to fire: {set(alerts) - fired}"


def test_the_issue_s_alerts_are_all_there(alerts: dict[str, str]) -> None:
    wanted = {
        "RebalancedDown",
        "RebalancedNotReady",
        "RebalancedRestarting",
        "RebalancedWatchdogStalled",
        "RebalancedMarketDataStale",
        "RebalancedStreamDisconnected",
        "RebalancedOutOfBand",
        "RebalancedUnknownOrders",
        "RebalancedOrderRejections",
        "RebalancedRateLimited",
        "RebalancedJournalWriteErrors",
        "RebalancedHalted",
        "RebalancedRealizedCostAboveEstimate",
    }
    assert wanted <= set(alerts)


def test_every_rule_uses_exported_metrics_only(alerts: dict[str, str]) -> None:
    exported = exported_metric_names()
    for name, block in alerts.items():
        expr = expr_of(block)
        used = referenced_metrics(expr)
        assert used or 'up{job="rebalanced"}' in expr, f"{name} uses none of our metrics"
        assert used <= exported, (
            f"{name} uses metrics the daemon does not export: {used - exported}"
        )


def test_every_alert_has_severity_annotations_and_a_runbook(alerts: dict[str, str]) -> None:
    anchors = markdown_anchors(OPERATIONS_MD.read_text())
    for name, block in alerts.items():
        severity = re.search(r"severity: (\w+)", block)
        assert severity and severity.group(1) in ("critical", "warning"), name
        for key in ("summary", "description"):
            assert re.search(rf"^\s*{key}: \S", block, flags=re.M), f"{name} has no {key}"
        runbook = re.search(r'runbook_url: "docs/operations\.md#([\w-]+)"', block)
        assert runbook, f"{name} has no runbook_url into docs/operations.md"
        assert runbook.group(1) == name.lower(), name
        assert runbook.group(1) in anchors, f"docs/operations.md has no section {name}"


def test_alerts_that_wait_have_sensible_for_windows(alerts: dict[str, str]) -> None:
    """Gauges that blip must persist before paging; counters over a window need no `for`."""
    must_wait = {
        "RebalancedDown",
        "RebalancedNotReady",
        "RebalancedMarketDataStale",
        "RebalancedStreamDisconnected",
        "RebalancedOutOfBand",
        "RebalancedUnknownOrders",
        "RebalancedHalted",
        "RebalancedEventBacklog",
        "RebalancedLoopLag",
    }
    for name in must_wait:
        m = re.search(r"^\s*for: (\d+)([mh])$", alerts[name], flags=re.M)
        assert m, f"{name} has no for: window"
        minutes = int(m.group(1)) * (60 if m.group(2) == "h" else 1)
        assert 1 <= minutes <= 240, f"{name}: for {minutes} min"
