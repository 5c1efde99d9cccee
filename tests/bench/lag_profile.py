"""What holds the event loop: a sampling thread that, whenever the loop's heartbeat is more
than ``threshold`` seconds old, records the loop thread's innermost frames of our code
(``sys._current_frames``). The benchmarks print the top holders with ``report()``.

It needs the GIL to sample, so it sees Python code that runs long (it gets the GIL at
the interpreter's switch interval) and C calls that release it (a sync, a select), not a
long C call holding the GIL. A diagnostic for the benchmarks only.
"""

from __future__ import annotations

import asyncio
import collections
import sys
import threading
import time

OURS = ("/daemon/", "/adapters/", "/tests/bench/")


class LagProfiler:
    def __init__(self, threshold: float = 0.005, every: float = 0.001) -> None:
        self.threshold = threshold
        self.every = every
        self.samples: collections.Counter[str] = collections.Counter()
        self.taken = 0
        self._beat = time.monotonic()
        self._thread_id = threading.get_ident()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._run, name="lag-profiler", daemon=True)

    async def run(self) -> None:
        """The heartbeat: run it as a task in the loop being profiled."""
        self._thread_id = threading.get_ident()
        self._sampler.start()
        try:
            while True:
                self._beat = time.monotonic()
                await asyncio.sleep(self.every)
        finally:
            self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if time.monotonic() - self._beat < self.threshold:
                continue
            frame = sys._current_frames().get(self._thread_id)
            inner = f"{frame.f_code.co_filename.split('/')[-1]}:{frame.f_code.co_name}" if frame else ""
            where: list[str] = []
            while frame is not None and len(where) < 3:
                path = frame.f_code.co_filename
                if any(p in path for p in OURS):
                    short = path.split("/")[-1]
                    where.append(f"{short}:{frame.f_code.co_name}")
                frame = frame.f_back
            self.samples[f"{inner} | {' < '.join(where)}"] += 1
            self.taken += 1

    def report(self, top: int = 8) -> list[str]:
        lines = [f"  loop held > {self.threshold * 1e3:g} ms: {self.taken:,} samples "
                 f"every {self.every * 1e3:g} ms; where the loop thread was:"]
        for where, n in self.samples.most_common(top):
            lines.append(f"    {n / max(self.taken, 1):6.1%}  {where}")
        return lines


__all__ = ["LagProfiler"]
