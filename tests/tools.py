"""Find, or install, a real tool a test runs.

A missing tool is installed with apt when we are root (CI is), once per machine:
``apt-get update`` then ``apt-get install -y --no-install-recommends PKG``, under a file lock
so parallel test processes don't collide. In CI (``CI=true``) a tool that still cannot be
had FAILS the test; on a developer machine it skips with the reason.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

_LOCK = Path("/tmp/rebalanced-tests-apt.lock")
_UPDATED = Path("/tmp/rebalanced-tests-apt.updated")
_APT_TIMEOUT = 900


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def _apt_install(package: str) -> str | None:
    """Install ``package`` with apt; return None on success, else why not."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not root, so apt-get cannot install it"
    if shutil.which("apt-get") is None:
        return "no apt-get on this machine"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with _LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _UPDATED.exists():
                subprocess.run(
                    ["apt-get", "update", "-q"],
                    check=True,
                    env=env,
                    capture_output=True,
                    timeout=_APT_TIMEOUT,
                )
                _UPDATED.touch()
            subprocess.run(
                ["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
                check=True,
                env=env,
                capture_output=True,
                timeout=_APT_TIMEOUT,
            )
        except subprocess.CalledProcessError as exc:
            tail = (exc.stderr or b"").decode(errors="replace")[-800:]
            return f"apt-get failed ({exc.returncode}): {tail}"
        except subprocess.TimeoutExpired:
            return f"apt-get took longer than {_APT_TIMEOUT} s"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return None


def require_tool(name: str, package: str) -> str:
    """The absolute path of ``name``, installing Debian ``package`` first if needed."""
    path = shutil.which(name)
    if path is None:
        why = _apt_install(package)
        path = shutil.which(name)
        if path is None:
            reason = (
                f"{name} is not installed and could not be installed "
                f"(apt-get install {package}): {why or 'still not on PATH'}"
            )
            if _in_ci():
                pytest.fail(reason)
            pytest.skip(reason)
    return path
