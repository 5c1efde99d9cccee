"""Run the quick benchmarks one after the other and print summary tables (``make bench``).

    .venv/bin/python -m tests.bench.run_all [--only NAME ...] [--timeout 300] [--soak-minutes 1]

Each benchmark runs as its own process (``python -m tests.bench.<name>``), so one failing
or slow benchmark neither stops nor skews the others; its full output is printed as it
finishes, then a table: name, status, wall seconds and its headline figures, and last the
aims of issue 14, one row per ``RESULT`` line the benchmarks printed (``summary.py``):
measure, figure, aim, met. The ingest ratios come from one ``bench_ws_path`` run, which
measures rebalanced, alpaca-py (default and ``raw_data``) and the bare limit side by side on
the same feed. The SIP-scale soak runs ``--soak-minutes`` (1 by default; the figure in the
README is ``python -m tests.bench.bench_memory_soak --sip --minutes 10``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from tests.bench import summary

# (module, extra arguments, substrings that pick the headline lines from its output)
BENCHMARKS: list[tuple[str, list[str], tuple[str, ...]]] = [
    ("bench_drift", [], ("updates/s",)),
    ("bench_engine", [], ("quotes through", "one decision", "replay")),
    ("bench_quote_decode", [], ("Structs → QuoteUpdated", "speed-up")),
    ("bench_journal", [], ("conflated", "record_intent")),
    ("bench_planner", ["1000"], ()),
    ("bench_planner", ["100"], ()),
    ("bench_backtest", ["--repeat", "2"], ("rows x assets/s", "speed ratio")),
    ("bench_sim_engine", [], ("quotes:", "orders:")),
    ("bench_sim_stream", [], ("received+decoded",)),
    ("bench_ws_path", [], ("quotes/s", "ratio")),
    ("bench_breach_latency", ["--symbols", "20"], ("breaches measured", "→")),
    ("bench_breach_latency", ["--symbols", "500"], ("breaches measured", "→")),
    ("bench_memory_soak", ["--sip", "--minutes", "1"], ("RSS MB", "loop lag", "dropped")),
]


def _soak(extra: list[str], minutes: float) -> list[str]:
    if "--minutes" not in extra:
        return extra
    i = extra.index("--minutes")
    return [*extra[: i + 1], f"{minutes:g}", *extra[i + 2 :]]


@dataclass
class Result:
    name: str
    status: str
    seconds: float
    headline: list[str] = field(default_factory=list)
    results: list[dict[str, object]] = field(default_factory=list)


def run_one(module: str, extra: list[str], picks: tuple[str, ...], timeout: float) -> Result:
    name = " ".join([module, *extra])
    cmd = [sys.executable, "-m", f"tests.bench.{module}", *extra]
    print(f"\n=== {name}", flush=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        out, status = proc.stdout, "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        if proc.returncode != 0:
            out += proc.stderr[-2000:]
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else ""
        status = f"timeout {timeout:g} s"
    seconds = time.perf_counter() - start
    print(out.rstrip(), flush=True)
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    results = [r for r in (summary.parse(ln) for ln in lines) if r is not None]
    lines = [ln for ln in lines if not ln.startswith(summary.PREFIX)]
    headline = [ln for ln in lines if any(p in ln for p in picks)] if picks else lines[-2:]
    if status != "ok":
        headline = lines[-1:]
    return Result(name, status, seconds, headline, results)


def aims_table(results: list[Result]) -> list[str]:
    """Issue 14's table: one row per RESULT line, in the order the benchmarks ran."""
    rows = [("measure", "figure", "aim", "met")]
    for r in results:
        for x in r.results:
            met = x.get("met")
            mark = "" if met is None else ("yes" if met else "NO")
            rows.append((str(x["measure"]), str(x["figure"]), str(x.get("aim", "")), mark))
    if len(rows) == 1:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
           for row in rows]  # fmt: skip
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench.run_all")
    p.add_argument("--only", nargs="*", default=None, help="module names to run")
    p.add_argument("--timeout", type=float, default=300.0, help="per benchmark, seconds")
    p.add_argument("--soak-minutes", type=float, default=1.0, help="the SIP-scale soak's length")
    args = p.parse_args(argv)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"run_all: {os.cpu_count()} cpus, load average {load}, python {sys.version.split()[0]}")
    results = [
        run_one(module, _soak(extra, args.soak_minutes), picks,
                max(args.timeout, args.soak_minutes * 60 + 120))
        for module, extra, picks in BENCHMARKS
        if args.only is None or module in args.only
    ]
    print("\n=== summary")
    width = max(len(r.name) for r in results) if results else 10
    for r in results:
        print(f"{r.name:<{width}}  {r.status:<10} {r.seconds:6.1f} s")
        for line in r.headline:
            print(f"{'':<{width}}    {line}")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    table = aims_table(results)
    if table:
        print(f"\n=== aims (issue 14), measured in this run; {os.cpu_count()} cpus, load average "
              f"at end {load}")  # fmt: skip
        print("\n".join(table))
    print(f"load average at end {load}")
    return 0 if all(r.status == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
