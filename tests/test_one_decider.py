"""One decider: only the engine composes the triggers and the planner.

``rebalanced plan``, the daemon and the backtester all decide through ``Engine.handle``. A
module that imports both the trigger rules and the planner is making decisions of its own
(as ``cli_plan.decide`` once did), so it can disagree with the daemon: this test fails then.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIGGERS = "daemon.core.triggers.rules"
PLANNER = "daemon.core.planning.planner"
ENGINE = ("daemon.core.engine.",)  # the engine subpackage (kernel and its parts)


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a.b import c`` counts ``a.b`` and ``a.b.c``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def composers() -> list[str]:
    found = []
    for top in ("daemon", "adapters", "tests"):
        for path in sorted((ROOT / top).rglob("*.py")):
            mods = imported(path)
            if TRIGGERS in mods and PLANNER in mods:
                found.append(_module_name(path))
    return found


def test_only_the_engine_imports_both_the_triggers_and_the_planner() -> None:
    outside = [
        m
        for m in composers()
        if not m.startswith(ENGINE) and not m.startswith("tests.")  # tests may test both
    ]
    assert outside == [], (
        f"{outside} import both {TRIGGERS} and {PLANNER}: decide through Engine.handle "
        "(feed events, read RecordDecision) instead of composing them"
    )


def test_the_check_sees_a_composer(tmp_path: Path) -> None:
    """The detector itself: a module importing both is found (so the test above can fail)."""
    p = tmp_path / "rogue.py"
    p.write_text(
        "from daemon.core.triggers.rules import evaluate\nfrom daemon.core.planning import planner\n",
        encoding="utf-8",
    )
    mods = imported(p)
    assert TRIGGERS in mods and PLANNER in mods
    assert "daemon.core.engine.kernel" in {_module_name(ROOT / "daemon/core/engine/kernel.py")}
    assert TRIGGERS in imported(ROOT / "daemon/core/engine/kernel.py")
