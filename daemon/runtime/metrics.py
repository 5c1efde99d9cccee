"""Prometheus metrics for the daemon. The registry is passed in (tests use a fresh one).

Names follow ``rebalanced_<thing>_<unit>``; counters end in ``_total``; units are base units
(seconds, dollars, ratio). Labels stay low-cardinality: symbol, side, outcome, stream,
trigger, state — never an order id. The core has no metrics code: the shell calls
``observe_event``/``observe_command`` as it dispatches, and ``observe_snapshot`` /
``observe_adapters`` periodically.

This module is the contract with ``deploy/prometheus`` (alert rules) and
``deploy/grafana`` (dashboard): rename a metric here and there together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, Metric

from adapters.ports import FeedStats
from daemon import __version__
from daemon.core.tax.live_lots import LOT_STATES
from daemon.core.triggers.drift_queries import WeightColumns

TRADING_STATES = ("active", "reducing", "halted")
STREAMS = ("market_data", "trade_updates")
# adapters.models.weights.FAILURE_REASONS, and the bars fetch (checked in a test)
MODEL_FAILURE_REASONS = ("too_little_history", "nan_returns", "singular_covariance",
                         "infeasible", "optimizer_failed", "bars_unavailable")
ORDER_OUTCOMES = ("submitted", "accepted", "filled", "canceled", "expired", "rejected",
                  "failed", "unknown", "not_found", "dry_run")

LOOKUP_REASONS = ("unknown_outcome", "cancel_failed", "deadline", "reconcile", "snapshot")

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0, 10.0, 30.0, 60.0)
FILL_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)


@dataclass(frozen=True, slots=True)
class LimiterStats:
    tokens: float
    limit_per_minute: float
    waits: int
    throttled_429: int
    wait_seconds: float = 0.0  # until the next request may go (the broker's reset, a 429)


WEIGHT_FAMILIES = (
    ("rebalanced_weight_ratio", "Current weight of an asset (CASH for cash)"),
    ("rebalanced_target_weight_ratio", "Target weight of an asset"),
    ("rebalanced_band_low_ratio", "Lower band edge (weight)"),
    ("rebalanced_band_high_ratio", "Upper band edge (weight)"),
)


class WeightGauges:
    """The four per-symbol gauges (``WEIGHT_FAMILIES``, label ``symbol``), read at scrape
    time from the last ``columns`` handed in. Set as 4 × 5,000 gauge children every second
    on SIP they cost ~6 ms of the loop per heartbeat; now a heartbeat stores one reference
    and the scrape (which formats every sample anyway) builds the samples."""

    def __init__(self) -> None:
        self.columns: WeightColumns | None = None

    def describe(self) -> list[Metric]:
        return list(self._families())

    def _families(self) -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily(name, doc, labels=["symbol"]) for name, doc in WEIGHT_FAMILIES]

    def collect(self) -> list[Metric]:
        families = self._families()
        c = self.columns  # one read: a heartbeat may replace it meanwhile (another thread)
        if c is not None:
            for family, values in zip(families, (c.current, c.target, c.low, c.high),
                                      strict=True):
                for symbol, value in zip(c.symbols, values, strict=True):
                    family.add_metric((symbol,), value)
        return list(families)


class Metrics:
    """Every metric the daemon exports, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.registry = registry
        self._seen: dict[tuple[str, ...], float] = {}
        self.build_info = Info("rebalanced_build", "Version of the running daemon", registry=r)
        self.build_info.info({"version": __version__})
        self.start_time = Gauge("rebalanced_start_time_seconds",
                                "Unix time the daemon process started", registry=r)
        self.clock_offset = Gauge("rebalanced_broker_clock_offset_seconds",
                                  "The broker's clock minus this machine's, at the last "
                                  "/v2/clock read (the shell's clock follows the broker's)",
                                  registry=r)
        self.up_ready = Gauge("rebalanced_ready",
                              "1 when reconciled, streams fresh and trading may proceed",
                              registry=r)
        # portfolio
        self.weights = WeightGauges()  # per symbol: weight, target, band low, band high
        r.register(self.weights)
        self.out_of_band = Gauge("rebalanced_out_of_band_assets",
                                 "Number of assets outside their band", registry=r)
        self.drift = Gauge("rebalanced_portfolio_drift_ratio",
                           "Portfolio drift: sum of |weight - target| / 2", registry=r)
        self.value = Gauge("rebalanced_portfolio_value_dollars", "Portfolio value (cash + positions)",
                           registry=r)
        self.cash = Gauge("rebalanced_cash_dollars", "Cash balance", registry=r)
        # decisions and orders
        self.decisions = Counter("rebalanced_decisions_total",
                                 "Rebalance decisions by trigger and outcome",
                                 ["trigger", "outcome"], registry=r)
        self.orders = Counter("rebalanced_orders_total", "Order events by side and outcome",
                              ["side", "outcome"], registry=r)
        self.fills = Counter("rebalanced_fills_total", "Executions received", ["side"], registry=r)
        self.filled_notional = Counter("rebalanced_filled_notional_dollars_total",
                                       "Dollar value of executions", ["side"], registry=r)
        self.est_cost = Counter("rebalanced_estimated_cost_dollars_total",
                                "Estimated trading cost of submitted orders", registry=r)
        self.realized_cost = Counter("rebalanced_realized_cost_dollars_total",
                                     "Realised cost: slippage of fills against the mid at decision",
                                     registry=r)
        self.open_orders = Gauge("rebalanced_open_orders", "Orders not yet in a final state",
                                 registry=r)
        self.unknown_orders = Gauge("rebalanced_unknown_orders",
                                    "Orders whose outcome is unknown (being resolved)", registry=r)
        self.overdue_orders = Gauge("rebalanced_overdue_orders",
                                    "Orders still not final past their timeout plus grace "
                                    "(being resolved over REST)", registry=r)
        self.order_lookups = Counter("rebalanced_order_lookups_total",
                                     "Orders looked up over REST, by why", ["reason"],
                                     registry=r)
        self.book_corrections = Counter("rebalanced_book_corrections_total",
                                        "Reconciliations that found the books disagreeing with "
                                        "the broker (and corrected them), by what differed",
                                        ["kind"], registry=r)
        self.ack_latency = Histogram("rebalanced_order_ack_latency_seconds",
                                     "Time from order submit to broker acknowledgement",
                                     buckets=LATENCY_BUCKETS, registry=r)
        self.fill_latency = Histogram("rebalanced_order_fill_latency_seconds",
                                      "Time from order submit to its final fill",
                                      buckets=FILL_BUCKETS, registry=r)
        self.decision_latency = Histogram("rebalanced_quote_to_decision_latency_seconds",
                                          "Time from the quote that triggered a decision to its orders",
                                          buckets=LATENCY_BUCKETS, registry=r)
        # market data and streams
        self.quotes = Counter("rebalanced_quotes_received_total", "Quotes received", registry=r)
        self.quotes_conflated = Counter("rebalanced_quotes_conflated_total",
                                        "Quotes left out under backlog: a newer quote of the "
                                        "same symbol was queued behind them", registry=r)
        self.quotes_dropped = Counter("rebalanced_quotes_dropped_total",
                                      "Quotes dropped (malformed, crossed, unknown symbol, …)",
                                      ["reason"], registry=r)
        self.stream_connected = Gauge("rebalanced_stream_connected", "1 while a stream is connected",
                                      ["stream"], registry=r)
        self.stream_reconnects = Counter("rebalanced_stream_reconnects_total",
                                         "Reconnects of a stream", ["stream"], registry=r)
        self.stream_age = Gauge("rebalanced_stream_last_message_age_seconds",
                                "Seconds since a stream last delivered a message", ["stream"],
                                registry=r)
        self.stream_refusals = Counter("rebalanced_stream_refusals_total",
                                       "Stream sessions refused by the broker (406 connection "
                                       "limit, HTTP 429), backed off and retried", ["stream"],
                                       registry=r)
        self.stream_malformed = Counter("rebalanced_stream_malformed_messages_total",
                                        "Malformed messages counted and dropped by a stream",
                                        ["stream"], registry=r)
        # rate limit
        self.rl_tokens = Gauge("rebalanced_ratelimit_tokens", "Request tokens available now",
                               registry=r)
        self.rl_limit = Gauge("rebalanced_ratelimit_limit_per_minute",
                              "Request budget per minute", registry=r)
        self.rl_waits = Counter("rebalanced_ratelimit_waits_total",
                                "Requests that had to wait for a rate-limit token", registry=r)
        self.rl_429 = Counter("rebalanced_ratelimit_throttled_total",
                              "HTTP 429 answers received from the broker", registry=r)
        # market statistics from daily bars (daemon/runtime/market_stats_task.py)
        self.market_stats_failures = Counter(
            "rebalanced_market_stats_failures_total",
            "Market-stats refreshes (daily bars, estimate) that failed; config and defaults "
            "stay in use", registry=r)
        self.market_stats_last_success = Gauge(
            "rebalanced_market_stats_last_success_timestamp_seconds",
            "Unix time of the last successful market-stats refresh (0: none yet)", registry=r)
        self.market_stats_symbols = Gauge(
            "rebalanced_market_stats_symbols",
            "Symbols of the last market-stats refresh: estimated (with σ, in the covariance) "
            "or left_out (too little history, no bars)", ["result"], registry=r)
        # model targets (daemon/runtime/model_targets_task.py, [targets.model])
        self.model_target_failures = Counter(
            "rebalanced_model_target_failures_total",
            "Model target estimates that failed, by reason; the old targets stay",
            ["reason"], registry=r)
        self.model_targets_last_success = Gauge(
            "rebalanced_model_targets_last_success_timestamp_seconds",
            "Unix time of the last model target estimate sent to the engine (0: none yet)",
            registry=r)
        # runtime
        self.queue_depth = Gauge("rebalanced_event_queue_depth", "Events waiting to be consumed",
                                 registry=r)
        self.loop_lag = Gauge("rebalanced_loop_lag_seconds", "Event loop scheduling lag",
                              registry=r)
        self.events = Counter("rebalanced_events_total", "Events consumed by kind", ["kind"],
                              registry=r)
        self.trading_state = Gauge("rebalanced_trading_state",
                                   "1 for the current trading state", ["state"], registry=r)
        self.market_open = Gauge("rebalanced_market_open", "1 while the market is open",
                                 registry=r)
        self.lot_ledger_state = Gauge(
            "rebalanced_lot_ledger_state",
            "1 for the state of a taxable account's lot ledger: ok; out_of_sync (a fill it "
            "could not apply); seeded_from_positions (the journal's fills did not rebuild it "
            "at start-up: average cost, dates and realised sales unknown). Not ok: tax "
            "decisions do not trust the lots (import them and restart)", ["state"], registry=r)
        self.journal_errors = Counter("rebalanced_journal_write_errors_total",
                                      "Journal writes that failed", registry=r)
        self.reconciliations = Counter("rebalanced_reconciliations_total",
                                       "Reconciliations with the broker by result", ["result"],
                                       registry=r)
        self.watchdog_pings = Counter("rebalanced_watchdog_pings_total",
                                      "WATCHDOG=1 notifications sent to systemd", registry=r)
        for s in STREAMS:
            self.stream_connected.labels(s).set(0)
            self.stream_reconnects.labels(s).inc(0)
            self.stream_age.labels(s).set(0)
            self.stream_malformed.labels(s).inc(0)
            self.stream_refusals.labels(s).inc(0)
        self.rl_waits.inc(0)
        self.rl_429.inc(0)
        for st in TRADING_STATES:
            self.trading_state.labels(st).set(1 if st == "active" else 0)
        self.set_lot_ledger_state("ok")
        self.journal_errors.inc(0)
        self.market_stats_failures.inc(0)
        for reason in MODEL_FAILURE_REASONS:
            self.model_target_failures.labels(reason).inc(0)
        for result in ("estimated", "left_out"):
            self.market_stats_symbols.labels(result).set(0)
        # labelled counters exist from the start at 0, so increase() sees their first events
        for side in ("buy", "sell"):
            for outcome in ORDER_OUTCOMES:
                self.orders.labels(side, outcome).inc(0)
            self.fills.labels(side).inc(0)
            self.filled_notional.labels(side).inc(0)
        for result in ("startup", "ok", "failed", "deferred", "splits_failed"):
            self.reconciliations.labels(result).inc(0)
        for reason in LOOKUP_REASONS:
            self.order_lookups.labels(reason).inc(0)
        for kind in ("position", "cash"):
            self.book_corrections.labels(kind).inc(0)
        for trigger in ("calendar", "threshold", "look_interval", "follow_up", "manual"):
            for outcome in ("orders", "no_orders"):
                self.decisions.labels(trigger, outcome).inc(0)

    # -- periodic observation -------------------------------------------------------------
    def set_trading_state(self, state: str) -> None:
        for st in TRADING_STATES:
            self.trading_state.labels(st).set(1 if st == state else 0)

    def set_lot_ledger_state(self, state: str) -> None:
        for st in LOT_STATES:
            self.lot_ledger_state.labels(st).set(1 if st == state else 0)

    def observe_weights(self, columns: WeightColumns) -> None:
        """The weights, targets and bands the next scrape reports (``WeightGauges``)."""
        self.weights.columns = columns

    def observe_streams(self, stats: Mapping[str, FeedStats]) -> None:
        for name, s in stats.items():
            self.stream_connected.labels(name).set(1 if s.connected else 0)
            self._advance(self.stream_reconnects.labels(name), ("reconnects", name), s.reconnects)
            self.stream_age.labels(name).set(s.last_message_age_seconds)
            self._advance(self.stream_malformed.labels(name), ("malformed", name), s.malformed)
            self._advance(self.stream_refusals.labels(name), ("refusals", name), s.refusals)

    def observe_limiter(self, s: LimiterStats) -> None:
        self.rl_tokens.set(s.tokens)
        self.rl_limit.set(s.limit_per_minute)
        self._advance(self.rl_waits, ("waits",), s.waits)
        self._advance(self.rl_429, ("429",), s.throttled_429)

    def observe_journal(self, write_errors: int) -> None:
        """The journal's own count of failed writes (its writer thread), added to the
        failures the shell saw itself."""
        self._advance(self.journal_errors, ("journal",), write_errors)

    def _advance(self, counter: Counter, key: tuple[str, ...], total: float) -> None:
        """Adapters report cumulative counts; export them as counters by their increase."""
        last = self._seen.get(key, 0.0)
        if total > last:
            counter.inc(total - last)
        self._seen[key] = max(last, total)


def metric_names(registry: CollectorRegistry) -> Iterable[str]:
    """Every sample name the registry can expose (for tests that check dashboards/rules)."""
    for family in registry.collect():
        for sample in family.samples:
            yield sample.name
