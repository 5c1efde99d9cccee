"""``rebalanced sim``: serve the Alpaca-compatible paper exchange on one port.

    rebalanced sim --port 8765 --host 127.0.0.1 --config examples/sim.toml

Prints the URLs alpaca-py (and the daemon) should use, then serves until SIGINT/SIGTERM,
which close every connection and exit 0. Binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tomllib
from pathlib import Path
from typing import Any

EX_USAGE = 64
EX_CONFIG = 78
DEFAULT_CONFIG = "examples/sim.toml"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rebalanced sim",
        description="Serve the Alpaca-compatible paper exchange (REST, both websockets, /_sim/ control).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free port)")
    p.add_argument(
        "--config", default=DEFAULT_CONFIG, help=f"simulator TOML (default {DEFAULT_CONFIG})"
    )
    p.add_argument(
        "--tick", type=float, default=0.05, help="seconds between exchange steps (default 0.05)"
    )
    p.add_argument(
        "--faults",
        metavar="FILE",
        help="TOML with faults to switch on at start-up, same shape as POST /_sim/faults "
        "([[http]] action/path/method/count/after_accept, [[stream]], [exchange])",
    )
    p.add_argument(
        "--auth-timeout", type=float, default=10.0, help="data stream auth window in seconds"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:
        return 0 if e.code == 0 else EX_USAGE
    if not 0 <= args.port <= 65535:
        print(f"rebalanced sim: --port {args.port} is not a TCP port (0-65535)", file=sys.stderr)
        return EX_USAGE
    if args.tick <= 0:
        print("rebalanced sim: --tick must be > 0 seconds", file=sys.stderr)
        return EX_USAGE

    from adapters.sim.sim_config import SimConfigError, load_sim_config

    if not Path(args.config).exists():
        print(
            f"rebalanced sim: config {args.config} does not exist; pass --config PATH "
            f"(see {DEFAULT_CONFIG})",
            file=sys.stderr,
        )
        return EX_CONFIG
    try:
        config = load_sim_config(args.config)
    except SimConfigError as e:
        print(f"rebalanced sim: {args.config}: {e}", file=sys.stderr)
        return EX_CONFIG
    faults: dict[str, Any] | None = None
    if args.faults:
        try:
            faults = tomllib.loads(Path(args.faults).read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            print(f"rebalanced sim: --faults {args.faults}: {e}", file=sys.stderr)
            return EX_CONFIG
    try:
        asyncio.run(_serve(config, args, faults))
    except FaultsFileError as e:
        print(f"rebalanced sim: --faults {args.faults}: {e}", file=sys.stderr)
        return EX_CONFIG
    except OSError as e:
        print(f"rebalanced sim: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1
    return 0


class FaultsFileError(ValueError):
    pass


async def _serve(config: Any, args: argparse.Namespace, faults: dict[str, Any] | None) -> None:
    from adapters.sim.control import apply_faults
    from adapters.sim.exchange import SimExchange
    from adapters.sim.server import create_app, options_from_config, start
    from adapters.sim.sim_clock import SimClock

    clock = SimClock(config.clock.mode, config.clock.start, config.clock.speed)
    exchange = SimExchange(config, clock)
    options = options_from_config(config, tick_seconds=args.tick, auth_timeout=args.auth_timeout)
    app = create_app(exchange, config, clock=clock, options=options)
    if faults:
        from adapters.sim.server import SIM_STATE

        try:
            apply_faults(app[SIM_STATE], faults)
        except ValueError as e:
            raise FaultsFileError(str(e)) from None
    server = await start(app, args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    ws = f"ws://{server.host}:{server.port}"
    keys = (
        "the configured key pair (from the config or APCA_API_KEY_ID / APCA_API_SECRET_KEY)"
        if options.key_id
        else "any non-empty key pair (none configured)"
    )
    print(
        "rebalanced sim: paper exchange ready\n"
        f"  REST (TradingClient url_override): {server.base_url}\n"
        f"  market data stream:                {ws}/v2/iex   (also /v2/sip, /v2/test)\n"
        f"  trade updates stream:              {ws}/stream\n"
        f"  control API:                       {server.base_url}/_sim/\n"
        f"  clock: {config.clock.mode} at {clock.now().isoformat()}\n"
        f"  auth: {keys}\n"
        "  Ctrl-C stops.",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await server.close()
        print("rebalanced sim: stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
