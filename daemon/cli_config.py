"""``rebalanced check-config FILE``: validate a configuration file without starting anything.

Exit 0 with a one-line summary on stdout when the file is good; exit 78 (EX_CONFIG) with
every problem on stderr, one per line as ``path: message``, when it is not.
"""

from __future__ import annotations

import sys

from daemon.config_file import EX_CONFIG, ConfigError, load_config
from daemon.core.config.values import Band, BandRule, CalendarRule, Config, Frequency, TriggerMode

EX_USAGE = 64
USAGE = (
    "usage: rebalanced check-config FILE\n\n"
    "Validate a rebalanced TOML configuration file. Prints every problem and exits 78,\n"
    "or prints a short summary and exits 0."
)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if len(argv) != 1:
        print(f"rebalanced check-config: expected one FILE argument\n\n{USAGE}", file=sys.stderr)
        return EX_USAGE
    path = argv[0]
    try:
        config = load_config(path)
    except ConfigError as exc:
        n = len(exc.problems)
        print(f"{path}: {n} problem{'s' if n != 1 else ''}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EX_CONFIG
    print(summary(config))
    return 0


def summary(config: Config) -> str:
    """One line describing a valid configuration, e.g. for the start-up log."""
    p, t, b = config.portfolio, config.trigger, config.broker
    n = len(p.assets)
    cash = " + cash" if p.cash_target > 0 else ""
    parts = [
        f"{n} asset{'s' if n != 1 else ''}{cash}",
        f"{t.mode.value} trigger{_trigger_detail(config)}",
        f"bands {describe_band(config.bands)}",
        f"broker {b.kind}" + (" paper" if b.paper else " LIVE") + f" ({b.feed} feed)",
    ]
    if config.tax.taxable:
        tax = config.tax
        parts.append(f"taxable account ({tax.relief_method.value} lots, bands x"
                     f"{tax.band_multiplier:g}" + (", harvesting" if tax.harvest.enabled else "")
                     + ")")
    m = config.targets_model
    if m.kind != "static":
        parts.append(f"targets from {m.kind} ({m.schedule}, {m.window_days} days)")
    if config.backtest.sweep:
        parts.append(f"backtest sweep of {config.backtest.points} combinations "
                     f"({', '.join(k for k, _ in config.backtest.sweep)})")  # fmt: skip
    if config.daemon.dry_run:
        parts.append("dry run")
    return "config OK: " + ", ".join(parts)


def _trigger_detail(config: Config) -> str:
    t = config.trigger
    window = f"window {t.window_start:%H:%M}-{t.window_end:%H:%M} {t.timezone}"
    bands = f"bands every {t.check_interval_seconds:g} s"
    if t.mode is TriggerMode.THRESHOLD:
        return f" ({bands}, {window})"
    if t.mode is TriggerMode.HYBRID:
        return f" ({describe_calendar(t.calendar)} or {bands}, {window})"
    return f" ({describe_calendar(t.calendar)}, {window})"


def describe_calendar(c: CalendarRule) -> str:
    at = f"at {c.at:%H:%M}"
    if c.frequency is Frequency.DAILY:
        return f"daily {at}"
    if c.frequency is Frequency.WEEKLY:
        return f"weekly on {WEEKDAY_NAMES[c.weekday]} {at}"
    if c.frequency is Frequency.ANNUALLY:
        return f"annually on {c.month_day[0]:02d}-{c.month_day[1]:02d} {at}"
    return f"{c.frequency.value} on day {c.day_of_month} {at}"


def describe_band(band: Band) -> str:
    widths = []
    if band.absolute is not None and band.rule is not BandRule.RELATIVE:
        widths.append(f"±{band.absolute * 100:g} pp")
    if band.relative is not None and band.rule is not BandRule.ABSOLUTE:
        widths.append(f"±{band.relative * 100:g} % of target")
    joined = " / ".join(widths)
    return f"{joined} ({band.rule.value})" if len(widths) > 1 else joined
