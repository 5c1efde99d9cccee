"""Writes deploy/grafana/rebalanced.json, the Grafana dashboard, from the panel list below.

    python deploy/grafana/make_dashboard.py          # rewrite rebalanced.json
    python deploy/grafana/make_dashboard.py --check  # exit 1 if rebalanced.json is stale

Edit the panels here, not the JSON: the test suite checks that the JSON is this script's
output, that every query names metrics of daemon/runtime/metrics.py, and (end to end) that
every query returns data from a real Prometheus scraping the daemon.

The data source is the dashboard variable ``datasource`` (any Prometheus); ``instance``
picks the daemon, ``symbol`` the assets of the per-symbol weight panel (repeated).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("rebalanced.json")
DS = {"type": "prometheus", "uid": "${datasource}"}
I = 'instance=~"$instance"'  # noqa: E741 - the selector every query carries
RI = "$__rate_interval"


def sel(metric: str, *matchers: str) -> str:
    return f"{metric}{{{', '.join((I, *matchers))}}}"


def target(expr: str, legend: str = "", ref: str = "A", **extra: Any) -> dict[str, Any]:
    return {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "refId": ref,
            "range": True, **extra}


def targets(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(pairs)]


def quantiles(histogram: str) -> list[dict[str, Any]]:
    return targets(*[
        (f"histogram_quantile({q}, sum by (le) (rate({sel(histogram + '_bucket')}[{RI}])))",
         f"p{int(q * 100)}")
        for q in (0.5, 0.9, 0.99)
    ])


class Layout:
    """Places panels left to right in rows of 24 grid units."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append({"type": "row", "title": title, "id": self._id(), "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1

    def _newline(self) -> None:
        if self.x:
            self.y += self.row_h
            self.x, self.row_h = 0, 0

    def add(self, panel: dict[str, Any], w: int, h: int) -> None:
        if self.x + w > 24:
            self._newline()
        panel = {"id": self._id(), "datasource": DS,
                 "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y}, **panel}
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)


def stat(title: str, tgts: list[dict[str, Any]], unit: str = "none", *,
         mappings: list[dict[str, Any]] | None = None, text_mode: str = "value",
         red_above: float | None = None, description: str = "") -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if red_above is not None:
        steps.append({"color": "red", "value": red_above})
    return {
        "type": "stat", "title": title, "description": description, "targets": tgts,
        "fieldConfig": {"defaults": {"unit": unit, "mappings": mappings or [],
                                     "thresholds": {"mode": "absolute", "steps": steps}},
                        "overrides": []},
        "options": {"colorMode": "background", "graphMode": "none", "textMode": text_mode,
                    "justifyMode": "center", "reduceOptions": {"calcs": ["lastNotNull"],
                                                               "fields": "", "values": False}},
    }


def series(title: str, tgts: list[dict[str, Any]], unit: str = "short", *,
           description: str = "", bars: bool = False, stack: bool = False,
           right_axis: dict[str, str] | None = None) -> dict[str, Any]:
    """A time series panel; ``right_axis`` maps a legend regex to the unit of a second axis."""
    overrides = [
        {"matcher": {"id": "byRegexp", "options": rx},
         "properties": [{"id": "custom.axisPlacement", "value": "right"},
                        {"id": "unit", "value": u}]}
        for rx, u in (right_axis or {}).items()
    ]
    return {
        "type": "timeseries", "title": title, "description": description, "targets": tgts,
        "fieldConfig": {
            "defaults": {"unit": unit, "custom": {
                "drawStyle": "bars" if bars else "line", "lineWidth": 1,
                "fillOpacity": 60 if bars else 10, "showPoints": "never",
                "stacking": {"mode": "normal" if stack else "none", "group": "A"}}},
            "overrides": overrides},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                    "tooltip": {"mode": "multi", "sort": "none"}},
    }


def state_timeline(title: str, tgts: list[dict[str, Any]],
                   mappings: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "state-timeline", "title": title, "targets": tgts,
        "fieldConfig": {"defaults": {"mappings": mappings, "color": {"mode": "thresholds"},
                                     "thresholds": {"mode": "absolute", "steps": [
                                         {"color": "red", "value": None},
                                         {"color": "green", "value": 1}]}},
                        "overrides": []},
        "options": {"showValue": "never", "mergeValues": True, "rowHeight": 0.8,
                    "legend": {"displayMode": "list", "placement": "bottom", "showLegend": False}},
    }


def value_map(pairs: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"type": "value", "options": {
        k: {"text": text, "color": color, "index": i}
        for i, (k, (text, color)) in enumerate(pairs.items())}}]


def build() -> dict[str, Any]:
    L = Layout()

    L.row("Overview")
    L.add(stat("Ready", targets((f"max({sel('rebalanced_ready')})", "ready")),
               mappings=value_map({"0": ("NOT READY", "red"), "1": ("READY", "green")}),
               description="/readyz: reconciled with the broker and both streams connected"),
          4, 4)
    L.add(stat("Trading state",
               targets((f"max by (state) ({sel('rebalanced_trading_state')}) == 1", "{{state}}")),
               text_mode="name",
               description="active, reducing, or halted (the kill switch: rebalanced halt)"),
          4, 4)
    L.add(stat("Market", targets((f"max({sel('rebalanced_market_open')})", "market")),
               mappings=value_map({"0": ("CLOSED", "blue"), "1": ("OPEN", "green")})), 3, 4)
    L.add(stat("Uptime", targets((f"time() - max({sel('rebalanced_start_time_seconds')})",
                                  "uptime")), "s"), 3, 4)
    L.add(stat("Open orders", targets((f"sum({sel('rebalanced_open_orders')})", "open"))), 3, 4)
    L.add(stat("Unknown / overdue orders",
               targets((f"sum({sel('rebalanced_unknown_orders')})", "unknown"),
                       (f"sum({sel('rebalanced_overdue_orders')})", "overdue")), red_above=1,
               description="Orders whose submission ended ambiguously (being looked up), and "
                           "orders not final past their timeout plus grace (overdue)"), 4, 4)
    L.add(stat("Version", targets((sel("rebalanced_build_info"), "{{version}}")),
               text_mode="name"), 3, 4)

    L.row("Portfolio")
    L.add(series("Portfolio value and cash", targets(
        (f"sum({sel('rebalanced_portfolio_value_dollars')})", "portfolio value"),
        (f"sum({sel('rebalanced_cash_dollars')})", "cash")), "currencyUSD"), 8, 8)
    L.add(series("Drift and assets out of band", targets(
        (f"max({sel('rebalanced_portfolio_drift_ratio')})", "drift"),
        (f"max({sel('rebalanced_out_of_band_assets')})", "assets out of band")),
        "percentunit", right_axis={"assets out of band": "none"},
        description="Drift = sum of |weight - target| / 2"), 8, 8)
    deviation = {
        "type": "bargauge", "title": "Weight minus target",
        "targets": targets((f"{sel('rebalanced_weight_ratio')} - on(instance, job, symbol) "
                            f"{sel('rebalanced_target_weight_ratio')}", "{{symbol}}")),
        "fieldConfig": {"defaults": {"unit": "percentunit", "min": -0.1, "max": 0.1,
                                     "thresholds": {"mode": "absolute", "steps": [
                                         {"color": "blue", "value": None},
                                         {"color": "green", "value": -0.02},
                                         {"color": "red", "value": 0.02}]}},
                        "overrides": []},
        "options": {"orientation": "horizontal", "displayMode": "basic",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
    }
    L.add(deviation, 8, 8)
    per_symbol = series("Weight vs. target and band: $symbol", targets(
        (sel("rebalanced_weight_ratio", 'symbol=~"$symbol"'), "weight"),
        (sel("rebalanced_target_weight_ratio", 'symbol=~"$symbol"'), "target"),
        (sel("rebalanced_band_low_ratio", 'symbol=~"$symbol"'), "band low"),
        (sel("rebalanced_band_high_ratio", 'symbol=~"$symbol"'), "band high")), "percentunit")
    per_symbol.update({"repeat": "symbol", "repeatDirection": "h", "maxPerRow": 4})
    per_symbol["fieldConfig"]["overrides"] = [
        {"matcher": {"id": "byRegexp", "options": "band.*"},
         "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                        {"id": "color", "value": {"mode": "fixed", "fixedColor": "orange"}}]},
        {"matcher": {"id": "byName", "options": "target"},
         "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": "green"}}]},
    ]
    L.add(per_symbol, 24, 8)  # repeated per symbol, up to 4 side by side

    L.row("Decisions and orders")
    L.add(series("Decisions by trigger and outcome", targets(
        (f"sum by (trigger, outcome) (increase({sel('rebalanced_decisions_total')}[{RI}]))",
         "{{trigger}} / {{outcome}}")), bars=True, stack=True), 8, 8)
    L.add(series("Orders by outcome", targets(
        (f"sum by (outcome) (increase({sel('rebalanced_orders_total')}[{RI}]))", "{{outcome}}"),
        (f"sum by (reason) (increase({sel('rebalanced_order_lookups_total')}[{RI}]))",
         "lookup: {{reason}}"),
        (f"sum by (kind) (increase({sel('rebalanced_book_corrections_total')}[{RI}]))",
         "books corrected: {{kind}}")),
        bars=True, stack=True), 8, 8)
    L.add(series("Fills and filled notional", targets(
        (f"sum by (side) (increase({sel('rebalanced_fills_total')}[{RI}]))", "fills {{side}}"),
        (f"sum by (side) (increase({sel('rebalanced_filled_notional_dollars_total')}[{RI}]))",
         "notional {{side}}")), bars=True, right_axis={"notional.*": "currencyUSD"}), 8, 8)

    L.row("Cost")
    L.add(series("Trading cost: estimated vs. realised", targets(
        (f"sum(increase({sel('rebalanced_estimated_cost_dollars_total')}[{RI}]))", "estimated"),
        (f"sum(increase({sel('rebalanced_realized_cost_dollars_total')}[{RI}]))",
         "realised (slippage vs. mid)")), "currencyUSD", bars=True), 16, 8)
    L.add(stat("Realised / estimated cost, last 24 h", targets(
        (f"sum(increase({sel('rebalanced_realized_cost_dollars_total')}[1d])) / "
         f"sum(increase({sel('rebalanced_estimated_cost_dollars_total')}[1d]))", "ratio")),
        "percentunit", red_above=1.5,
        description="Above 150 % the RebalancedRealizedCostAboveEstimate alert fires"), 8, 8)

    L.row("Latency")
    L.add(series("Order acknowledgement latency", quantiles(
        "rebalanced_order_ack_latency_seconds"), "s"), 8, 8)
    L.add(series("Order fill latency", quantiles("rebalanced_order_fill_latency_seconds"), "s"),
          8, 8)
    L.add(series("Quote to decision latency", quantiles(
        "rebalanced_quote_to_decision_latency_seconds"), "s"), 8, 8)

    L.row("Streams and rate limit")
    L.add(state_timeline("Streams connected", targets(
        (sel("rebalanced_stream_connected"), "{{stream}}")),
        value_map({"0": ("down", "red"), "1": ("up", "green")})), 8, 6)
    L.add(series("Seconds since a stream's last message", targets(
        (sel("rebalanced_stream_last_message_age_seconds"), "{{stream}}")), "s"), 8, 6)
    L.add(series("Quotes received", targets(
        (f"sum(rate({sel('rebalanced_quotes_received_total')}[{RI}]))", "quotes/s")), "reqps"),
        8, 6)
    L.add(series("Quotes conflated under backlog", targets(
        (f"sum(rate({sel('rebalanced_quotes_conflated_total')}[{RI}]))", "conflated/s")), "reqps",
        description="The consumer was behind the feed and kept only each symbol's newest "
                    "quote (drift needs only the newest; trades and statuses are never "
                    "conflated). Sustained: the daemon is near its ingest limit"), 8, 6)
    L.add(series("Stream reconnects and malformed messages", targets(
        (f"sum by (stream) (increase({sel('rebalanced_stream_reconnects_total')}[{RI}]))",
         "reconnects {{stream}}"),
        (f"sum by (stream) (increase({sel('rebalanced_stream_malformed_messages_total')}[{RI}]))",
         "malformed {{stream}}"),
        (f"sum by (stream) (increase({sel('rebalanced_stream_refusals_total')}[{RI}]))",
         "refused {{stream}}")), bars=True), 8, 8)
    L.add(series("Rate-limit budget", targets(
        (f"max({sel('rebalanced_ratelimit_limit_per_minute')})", "limit per minute"),
        (f"max({sel('rebalanced_ratelimit_tokens')})", "tokens available")), "short",
        description="The adapter's request budget: tokens left of the per-minute limit"), 8, 8)
    L.add(series("Rate-limit waits and 429s", targets(
        (f"sum(increase({sel('rebalanced_ratelimit_waits_total')}[{RI}]))", "waited for a token"),
        (f"sum(increase({sel('rebalanced_ratelimit_throttled_total')}[{RI}]))", "HTTP 429")),
        bars=True), 8, 8)

    L.row("Runtime")
    L.add(series("Event queue depth", targets(
        (f"max({sel('rebalanced_event_queue_depth')})", "queued events"))), 6, 8)
    L.add(series("Event loop lag", targets(
        (f"max({sel('rebalanced_loop_lag_seconds')})", "loop lag")), "s"), 6, 8)
    L.add(series("Events consumed by kind", targets(
        (f"sum by (kind) (rate({sel('rebalanced_events_total')}[{RI}]))", "{{kind}}")),
        "ops", stack=True), 6, 8)
    L.add(series("Broker clock offset", targets(
        (f"max({sel('rebalanced_broker_clock_offset_seconds')})", "broker − this host")), "s",
        description="The broker's /v2/clock minus this host's clock; the daemon follows the "
        "broker. Near 0 on a live account with NTP; days on a paper exchange at another date"),
        6, 8)
    L.add(state_timeline("Trading state", targets(
        (f"max by (state) ({sel('rebalanced_trading_state')})", "{{state}}")),
        value_map({"0": ("", "transparent"), "1": ("current", "green")})), 8, 6)
    L.add(series("Reconciliations and journal write errors", targets(
        (f"sum by (result) (increase({sel('rebalanced_reconciliations_total')}[{RI}]))",
         "reconcile {{result}}"),
        (f"sum(increase({sel('rebalanced_journal_write_errors_total')}[{RI}]))",
         "journal write errors")), bars=True), 8, 6)
    L.add(stat("Market statistics refreshed", targets(
        (f"max({sel('rebalanced_market_stats_last_success_timestamp_seconds')}) * 1000",
         "last refresh")), "dateTimeFromNow",
        description="ADV, σ and covariance from daily bars ([market_stats]): at start-up and "
                    "once a day. 1970 = never; config values and defaults are used meanwhile"),
        4, 6)
    L.add(series("Market statistics: symbols and failed refreshes", targets(
        (f"sum by (result) ({sel('rebalanced_market_stats_symbols')})", "symbols {{result}}"),
        (f"sum(increase({sel('rebalanced_market_stats_failures_total')}[{RI}]))",
         "failed refreshes"))), 8, 6)
    L.add(series("Model targets: failed estimates", targets(
        (f"sum by (reason) (increase({sel('rebalanced_model_target_failures_total')}[{RI}]))",
         "{{reason}}"),
        (f"(time() - max({sel('rebalanced_model_targets_last_success_timestamp_seconds')})) "
         "/ 86400", "days since the last estimate")), bars=True,
        description="[targets.model] estimates that kept the old targets, by reason; "
                    "the last success (days ago; huge = never)"), 8, 6)
    L.add(series("systemd watchdog pings", targets(
        (f"sum(rate({sel('rebalanced_watchdog_pings_total')}[{RI}]))", "pings/s")), "reqps",
        description="WATCHDOG=1 notifications; they stop when the consumer loop stalls"), 8, 6)
    L.add(stat("Lot ledger", targets(
        (f"max by (state) ({sel('rebalanced_lot_ledger_state')}) == 1", "{{state}}")),
        text_mode="name",
        description="A taxable account's lots: ok, or out_of_sync / seeded_from_positions "
                    "(tax decisions do not trust them: import the lots and restart; "
                    "RebalancedLotsUntrusted)"), 8, 6)

    return {
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "9.4.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
        ],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "description": "rebalanced: portfolio, decisions, orders, cost, latency, streams, runtime",
        "editable": True,
        "graphTooltip": 1,
        "links": [],
        "panels": L.panels,
        "refresh": "30s",
        "schemaVersion": 38,
        "tags": ["rebalanced"],
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource",
             "query": "prometheus", "current": {}, "hide": 0, "refresh": 1, "regex": "",
             "options": [], "includeAll": False, "multi": False},
            {"name": "instance", "label": "Daemon", "type": "query", "datasource": DS,
             "definition": "label_values(rebalanced_build_info, instance)",
             "query": {"query": "label_values(rebalanced_build_info, instance)",
                       "refId": "instance"},
             "current": {}, "hide": 0, "refresh": 2, "regex": "", "sort": 1, "options": [],
             "includeAll": False, "multi": False},
            {"name": "symbol", "label": "Symbol", "type": "query", "datasource": DS,
             "definition": 'label_values(rebalanced_target_weight_ratio{instance=~"$instance"}, symbol)',
             "query": {"query": 'label_values(rebalanced_target_weight_ratio{instance=~"$instance"}, symbol)',
                       "refId": "symbol"},
             "current": {}, "hide": 0, "refresh": 2, "regex": "", "sort": 1, "options": [],
             "includeAll": True, "multi": True},
        ]},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "rebalanced",
        "uid": "rebalanced",
        "version": 1,
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUT.read_text() != text:
            print(f"{OUT} is stale: run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
