"""``rebalanced`` command line: the composition roots.

Each subcommand lives in its own module with ``main(argv: list[str]) -> int`` and is
imported only when used, so ``rebalanced check-config`` does not pay for aiohttp.
"""

from __future__ import annotations

import importlib
import sys

# name → (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("daemon.cli_demo", "run the paper exchange and the daemon together (the demo)"),
    "run": ("daemon.cli_run", "run the daemon against the configured broker"),
    "plan": ("daemon.cli_plan", "plan a rebalance for given holdings and quotes (no broker)"),
    "backtest": ("daemon.cli_backtest", "run the engine over price history, with costs"),
    "targets": ("daemon.cli_targets", "print the model's current target weights and inputs"),
    "check-config": ("daemon.cli_config", "validate a configuration file"),
    "sim": ("daemon.cli_sim", "serve the Alpaca-compatible paper exchange"),
    "halt": ("daemon.cli_control", "kill switch: stop trading and cancel open orders"),
    "resume": ("daemon.cli_control", "resume trading after a halt"),
    "reduce": ("daemon.cli_control", "only reduce risk: sells and cancels, no new buys"),
    "history": ("daemon.cli_history", "list recent decisions, orders and fills from the journal"),
    "journal": ("daemon.cli_journal", "check a journal, or recover / replace a damaged one"),
    "lots": ("daemon.cli_lots", "import or show the tax lots (a broker's CSV, or positions)"),
    "tax": ("daemon.cli_tax", "realised and unrealised gains by lot, wash sales (Form 8949-like)"),
}

EX_USAGE = 64


def usage() -> str:
    lines = ["usage: rebalanced COMMAND [options]", "", "commands:"]
    width = max(len(n) for n in SUBCOMMANDS)
    for name, (_, help_text) in SUBCOMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {help_text}")
    lines.append("")
    lines.append("Run 'rebalanced COMMAND --help' for a command's options.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else EX_USAGE
    if args[0] == "--version":
        from daemon import __version__

        print(f"rebalanced {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"rebalanced: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return EX_USAGE
    module = importlib.import_module(SUBCOMMANDS[name][0])
    if name in ("halt", "resume", "reduce"):
        rest = [name, *rest]
    code: int = module.main(rest)
    return code


if __name__ == "__main__":
    sys.exit(main())
