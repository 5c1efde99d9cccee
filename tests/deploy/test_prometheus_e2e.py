"""End to end: a real Prometheus (Debian's package) scrapes the real daemon trading on the
paper exchange, loads the shipped alert rules, and answers, through its HTTP API, every
expression of every dashboard panel and every alert rule with data: no panel left empty,
no metric or label misspelled.

Alert expressions are filters (``x > 3`` is empty while healthy), so each is asked in a
form that keeps its series: every comparison gets ``bool`` (0/1 instead of dropping the
series) and ``absent(x)`` is asked as ``x``. For the label values that only appear after an
event (a rejected order, a failed reconciliation) the test makes the event happen: the
exchange rejects the first order and fails the account endpoint for a while."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.sim.testing import free_port
from tests.deploy.conftest import GRAFANA_DIR, PROM_DIR
from tests.deploy.daemon_proc import Daemon, http_get, sim_and_daemon

RULES = PROM_DIR / "rebalanced.rules.yml"
SCRAPES_NEEDED = 6  # samples per series before range functions are asked
# Grafana's variables, as a person looking at the dashboard would have them.
GRAFANA_VARS = {"$__rate_interval": "1m", "$instance": ".*", "$symbol": ".*"}

PROM_CONFIG = """\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
scrape_configs:
  - job_name: rebalanced
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


class Prometheus:
    def __init__(self, binary: str, tmp_path: Path, daemon_port: int) -> None:
        self.port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(PROM_CONFIG.format(rules=RULES, port=daemon_port))
        self.log_path = tmp_path / "prometheus.log"
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [binary, f"--config.file={config}",
                 f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}",
                 "--storage.tsdb.retention.time=1h", "--log.level=warn"],
                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        status, body = http_get(url, timeout=5)
        assert status == 200, f"{path} {params} -> {status} {body}\n{self.log()}"
        data = json.loads(body)
        assert data["status"] == "success", data
        return data["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result

    def wait_until(self, expr: str, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited {self.proc.returncode}\n{self.log()}")
            if http_get(f"http://127.0.0.1:{self.port}/-/ready")[0] == 200 and self.query(expr):
                return
            time.sleep(0.25)
        raise AssertionError(f"{what}: {expr} still empty after {timeout} s\n{self.log()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


_COMPARISON = re.compile(r"(==|!=|>=|<=|>|<)(?!\s*bool)")


def as_series_query(expr: str) -> str:
    """The same expression keeping every series it looks at: comparisons get ``bool``
    (outside label matchers and strings), ``absent(x)`` is asked as ``(x)``."""
    expr = re.sub(r"\babsent\((.*)\)", r"(\1)", expr)
    out: list[str] = []
    depth, quote, i = 0, "", 0
    while i < len(expr):
        c = expr[i]
        if quote:
            out.append(c)
            quote = "" if c == quote else quote
        elif c in "\"'`":
            quote = c
            out.append(c)
        elif c == "{":
            depth += 1
            out.append(c)
        elif c == "}":
            depth -= 1
            out.append(c)
        elif depth == 0 and (m := _COMPARISON.match(expr, i)):
            out.append(m.group(1) + " bool")
            i = m.end()
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def test_as_series_query_keeps_series() -> None:
    assert as_series_query("x > 3") == "x > bool 3"
    assert as_series_query("a >= 2 and b == 1") == "a >= bool 2 and b == bool 1"
    assert as_series_query('absent(up{job="r"})') == '(up{job="r"})'
    assert as_series_query("a < b or a > b") == "a < bool b or a > bool b"
    assert as_series_query('x{a!="1", b=~"<>"} != 0') == 'x{a!="1", b=~"<>"} != bool 0'
    assert as_series_query("x > bool 1") == "x > bool 1"


def grafana_exprs() -> list[tuple[str, str]]:
    dashboard = json.loads((GRAFANA_DIR / "rebalanced.json").read_text())
    out = []
    for panel in dashboard["panels"]:
        for t in panel.get("targets", []):
            expr = t["expr"]
            for var, value in GRAFANA_VARS.items():
                expr = expr.replace(var, value)
            assert "$" not in expr, f"unsubstituted variable in {expr}"
            out.append((panel["title"], expr))
    assert out
    return out


def _post(url: str, body: dict[str, Any]) -> None:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


def _wait_sample(daemon: Daemon, prefix: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = daemon.sample(prefix)
        if value is not None and value > 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"{prefix} never appeared\n{daemon.log()}")


@pytest.fixture(scope="module")
def scraped(
    prometheus_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Prometheus, Daemon]]:
    tmp_path = tmp_path_factory.mktemp("e2e")
    faults = "[exchange]\nreject_next = 1\n"  # the first order is rejected
    # reconcile_seconds: no periodic reconciliation interferes with the failing one below.
    with sim_and_daemon(tmp_path, faults_toml=faults, reconcile_seconds=300) as (sim, daemon):
        daemon.wait_ready()
        prom = Prometheus(prometheus_bin, tmp_path, daemon.http_port)
        try:
            # Trading first (the first order is rejected, the rest fill) ...
            _wait_sample(daemon, 'rebalanced_orders_total{outcome="rejected"', 30)
            _wait_sample(daemon, 'rebalanced_fills_total{side="buy"}', 30)
            # ... then one failed reconciliation: the trade stream drops (the reconnect reconciles)
            # while the account endpoint answers 500 until that reconciliation gives up.
            _post(sim.base_url + "/_sim/faults", {
                "http": [{"action": "500", "path": "/v2/account", "method": "GET",
                          "count": 1000}],
                "stream": [{"stream": "trade", "action": "drop"}],
            })  # fmt: skip
            _wait_sample(daemon, 'rebalanced_reconciliations_total{result="failed"}', 30)
            _post(sim.base_url + "/_sim/reset-faults", {})
            prom.wait_until(
                f'count_over_time(up{{job="rebalanced"}}[1m]) >= {SCRAPES_NEEDED}', 40, "scrapes"
            )
            # increase() needs two samples of a series, and these two appeared late.
            for late in ('rebalanced_reconciliations_total{result="failed"}',
                         'rebalanced_orders_total{outcome="rejected"}'):  # fmt: skip
                prom.wait_until(f"count_over_time({late}[1m]) >= 2", 20, "late series")
            yield prom, daemon
        finally:
            prom.stop()
        assert daemon.terminate() == 0, daemon.log()


def test_every_dashboard_query_and_alert_rule_returns_data(
    scraped: tuple[Prometheus, Daemon],
) -> None:
    prom, daemon = scraped
    targets = prom.api("targets")["activeTargets"]
    assert [t["health"] for t in targets] == ["up"], targets

    # The shipped rules loaded, and every rule evaluates without error.
    groups = prom.api("rules")["groups"]
    rules = [r for g in groups for r in g["rules"]]
    names = {r["name"] for r in rules}
    assert names == set(re.findall(r"^\s*- alert: (\w+)$", RULES.read_text(), flags=re.M))
    broken = {r["name"]: r.get("lastError") for r in rules if r.get("health") != "ok"}
    assert not broken, broken

    empty = []
    for rule in rules:
        q = as_series_query(rule["query"])
        if not prom.query(q):
            empty.append(f"alert {rule['name']}: {q}")
    for title, expr in grafana_exprs():
        if not prom.query(expr):
            empty.append(f"panel {title!r}: {expr}")
    assert not empty, "no data for:\n" + "\n".join(empty) + "\n" + daemon.log()[-1500:]


def test_a_healthy_trading_daemon_raises_no_alert(scraped: tuple[Prometheus, Daemon]) -> None:
    """Firing alerts on the paper exchange right after start would be noise (a broken
    threshold or selector). The injected rejection and reconciliation failure are below
    their alerts' thresholds; pending is allowed, firing is not."""
    prom, _daemon = scraped
    firing = [
        a["labels"]["alertname"] for a in prom.api("alerts")["alerts"] if a["state"] == "firing"
    ]
    assert firing == [], firing
