"""The core stays pure: importing it pulls in no event loop, network or metrics library,
and nothing of ours from outside ``daemon.core``."""

import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("asyncio", "aiohttp", "websockets", "prometheus_client", "structlog", "adapters",
             "daemon.runtime", "msgspec", "sqlite3", "socket")


def test_importing_core_pulls_in_no_io_modules() -> None:
    core = Path(__file__).resolve().parents[2] / "daemon" / "core"
    modules = sorted(  # every module, subpackages included
        ".".join(("daemon", "core", *p.relative_to(core).with_suffix("").parts))
        for p in core.rglob("*.py")
        if p.stem != "__init__"
    )
    code = (
        "import sys\n"
        f"for m in {modules!r}: __import__(m)\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"daemon.core imports {out.stdout.strip()}"


def test_core_source_reads_no_clock_or_randomness() -> None:
    core = Path(__file__).resolve().parents[2] / "daemon" / "core"
    offenders = []
    for path in core.rglob("*.py"):
        text = path.read_text()
        for needle in ("time.time(", "time.monotonic(", "datetime.now(", "datetime.utcnow(",
                       "import random", "from random", "date.today("):
            if needle in text:
                offenders.append(f"{path.name}: {needle}")
    assert offenders == []


def test_every_core_module_imports_first() -> None:
    """Whichever core module a process imports first, it imports (no circle through a
    package's ``__init__`` that only shows for one import order)."""
    core = Path(__file__).resolve().parents[2] / "daemon" / "core"
    modules = sorted(
        ".".join(("daemon", "core", *p.relative_to(core).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        for p in core.rglob("*.py")
    )
    code = (
        "import importlib, sys\n"
        "failed = []\n"
        f"for m in {modules!r}:\n"
        "    for k in [k for k in sys.modules if k == 'daemon' or k.startswith('daemon.')]:\n"
        "        del sys.modules[k]\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except ImportError as e:\n"
        "        failed.append(f'{m}: {e}')\n"
        "print('\\n'.join(failed))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported first, these fail:\n{out.stdout}"
