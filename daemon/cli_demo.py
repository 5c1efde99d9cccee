"""``rebalanced demo``: the paper exchange and the daemon together, with a live view.

The exchange's clock is set inside the most recent NYSE session (so the demo trades on a
weekend too) and runs at real speed; the example portfolio starts drifted (VTI overweight)
and is rebalanced within seconds; after 20 s a price shock on GLD (+25 %) pushes it out of its band
and the daemon rebalances again. Metrics are served on the printed URL. Ctrl-C stops both
cleanly (the daemon drains, then the exchange closes).

``--broker alpaca`` runs the same daemon against your Alpaca paper account instead (keys in
APCA_API_KEY_ID / APCA_API_SECRET_KEY; no simulator is started).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from daemon.host_clock import utc_now

EX_CONFIG = 78
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "demo.toml"

# The demo exchange: prices, spreads and a drifted starting portfolio (~$100k: VTI ~45 %
# against a 40 % target, BND ~25 % against 28 %).
DEMO_SYMBOLS: dict[str, dict[str, Any]] = {
    "VTI": {"price": 300.0, "volatility": 0.25, "spread_bps": 2.0, "quote_rate": 4.0,
            "adv": 3_500_000},
    "VXUS": {"price": 65.0, "volatility": 0.25, "spread_bps": 3.0, "quote_rate": 4.0,
             "adv": 5_000_000},
    "BND": {"price": 72.0, "volatility": 0.08, "spread_bps": 2.0, "quote_rate": 4.0,
            "adv": 6_000_000},
    "GLD": {"price": 240.0, "volatility": 0.2, "spread_bps": 2.0, "quote_rate": 4.0,
            "adv": 8_000_000, "fractionable": False},
}
DEMO_POSITIONS = {
    "VTI": {"qty": "150", "avg_entry_price": "280"},
    "VXUS": {"qty": "280", "avg_entry_price": "60"},
    "BND": {"qty": "340", "avg_entry_price": "71"},
    "GLD": {"qty": "40", "avg_entry_price": "220"},
}
SHOCK_AFTER_SECONDS = 20.0
SHOCK = ("GLD", 1.25)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rebalanced demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--broker", choices=("sim", "alpaca"), default="sim",
                   help="sim (default): the built-in paper exchange; alpaca: your paper account")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="portfolio config (TOML)")
    p.add_argument("--http-port", type=int, default=None,
                   help="metrics port (default from the config; a busy port falls back to any)")
    p.add_argument("--duration", type=float, default=None,
                   help="stop by itself after this many seconds (default: until Ctrl-C)")
    p.add_argument("--shock-after", type=float, default=SHOCK_AFTER_SECONDS,
                   help=f"seconds before the GLD price shock (default {SHOCK_AFTER_SECONDS:g})")
    p.add_argument("--no-live", action="store_true",
                   help="log lines instead of the live terminal view")
    return p


def session_start(now: datetime) -> datetime:
    """10:00 New York time in the most recent NYSE session at or before ``now``'s date."""
    from adapters.sim.market_calendar import MarketCalendar, local_day

    cal = MarketCalendar.nyse()
    day = local_day(now)
    for _ in range(15):
        session = cal.session(day)
        if session is not None:
            return (session.open + timedelta(minutes=30)).astimezone(UTC)
        day -= timedelta(days=1)
    raise RuntimeError("no NYSE session in the last two weeks")


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from daemon.config_file import load_config
    from daemon.core.config.reader import ConfigError

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"rebalanced demo: {args.config}: configuration rejected:\n{exc}", file=sys.stderr)
        return EX_CONFIG
    from daemon.runtime.logs import configure_logging

    state_dir = Path(tempfile.mkdtemp(prefix="rebalanced-demo-"))
    live = not args.no_live and sys.stdout.isatty()
    log_file = state_dir / "daemon.log"
    with contextlib.ExitStack() as stack:
        # live view: the terminal shows the view, JSON logs go to a file
        stream = stack.enter_context(open(log_file, "w", encoding="utf-8")) if live else sys.stdout
        configure_logging("json" if live else "console", config.daemon.log_level, stream=stream)
        try:
            return asyncio.run(_demo(config, args, state_dir, live, log_file))
        except KeyboardInterrupt:
            return 130
    raise AssertionError("unreachable")


async def _demo(config: Any, args: argparse.Namespace, state_dir: Path, live: bool,
                log_file: Path) -> int:
    from adapters.alpaca.credentials import Credentials, CredentialsError, Secret, load_credentials

    port = args.http_port if args.http_port is not None else config.daemon.http_port
    if not _port_free(config.daemon.http_host, port):
        port = 0
    daemon_cfg = replace(config.daemon, state_dir=str(state_dir), http_port=port)

    if args.broker == "alpaca":
        try:
            credentials = load_credentials()
        except CredentialsError as exc:
            print(f"rebalanced demo --broker alpaca: {exc}", file=sys.stderr)
            return EX_CONFIG
        broker = replace(config.broker, kind="alpaca", paper=True, rest_url=None, data_url=None,
                         stream_url=None, trade_stream_url=None)
        cfg = replace(config, broker=broker, daemon=daemon_cfg)
        return await _run(cfg, credentials, None, args, live, state_dir, log_file)

    from adapters.sim.testing import default_sim_config, running_sim

    start = session_start(utc_now())
    sim_config = default_sim_config(
        seed=int.from_bytes(os.urandom(2), "big"),
        clock={"mode": "accelerated", "start": start.isoformat(), "speed": 1.0},
        symbols=DEMO_SYMBOLS, positions=DEMO_POSITIONS, starting_cash="2000")
    async with running_sim(sim_config) as sim:
        broker = replace(config.broker, kind="sim", rest_url=sim.base_url, data_url=sim.base_url,
                         stream_url=sim.data_ws_url, trade_stream_url=sim.trade_ws_url)
        cfg = replace(config, broker=broker, daemon=daemon_cfg)
        credentials = Credentials(Secret(sim.key_id), Secret(sim.secret))
        return await _run(cfg, credentials, sim, args, live, state_dir, log_file)


async def _run(cfg: Any, credentials: Any, sim: Any, args: argparse.Namespace, live: bool,
               state_dir: Path, log_file: Path) -> int:
    from daemon.core.events import ShutdownRequested
    from daemon.runtime.assemble import DaemonHandle, run_daemon

    handles: list[DaemonHandle] = []
    started = asyncio.Event()

    def on_started(h: DaemonHandle) -> None:
        handles.append(h)
        started.set()

    daemon = asyncio.create_task(run_daemon(cfg, credentials, on_started=on_started))
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({daemon, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if not handles:
        return await daemon
    handle = handles[0]
    where = "the built-in paper exchange" if sim is not None else "your Alpaca paper account"
    intro = (f"rebalanced demo against {where}\n"
             f"  metrics  {handle.http.url}/metrics   status {handle.http.url}/status\n"
             f"  journal  {state_dir}   (rebalanced history --state-dir {state_dir})\n"
             f"  logs     {log_file if live else 'below'}\n"
             "  Ctrl-C stops both cleanly")
    print(intro, flush=True)
    helpers = [asyncio.create_task(_view(handle, intro, live))]
    if sim is not None:
        helpers.append(asyncio.create_task(_shock(sim, handle, args.shock_after)))
    if args.duration is not None:
        async def stop_later() -> None:
            await asyncio.sleep(args.duration)
            handle.service.emit(ShutdownRequested(at=handle.service.clock.now()))
        helpers.append(asyncio.create_task(stop_later()))
    try:
        code = await daemon
    finally:
        for t in helpers:
            t.cancel()
        for t in helpers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
    snap = handle.service.engine.snapshot() if handle.service.engine else None
    if snap is not None:
        from daemon.runtime.status_view import render

        print("\n" + render(snap, title="final state", recent=handle.service.observer.recent))
    print(f"\ndemo stopped (exit {code}); journal kept in {state_dir}")
    return code


async def _shock(sim: Any, handle: Any, after: float) -> None:
    await asyncio.sleep(after)
    symbol, factor = SHOCK
    sim.exchange.jump_price(symbol, factor)
    handle.service.observer.recent.append(
        f"price shock: {symbol} {'+' if factor > 1 else ''}{(factor - 1) * 100:.0f} %")


async def _view(handle: Any, intro: str, live: bool) -> None:
    from daemon.runtime.status_view import render

    last_recent = 0
    while True:
        await asyncio.sleep(1.0)
        service = handle.service
        if service.engine is None:
            continue
        snap = service.engine.snapshot()
        if live:
            text = render(snap, title=intro, recent=service.observer.recent)
            sys.stdout.write("\x1b[H\x1b[2J" + text + "\n")
            sys.stdout.flush()
        else:  # logs go to stdout already; only announce what the logs don't say
            recent = list(service.observer.recent)
            for line in recent[last_recent:]:
                if line.startswith("price shock"):
                    print(line, flush=True)
            last_recent = len(recent)


def _port_free(host: str, port: int) -> bool:
    import socket

    if port == 0:
        return True
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True
