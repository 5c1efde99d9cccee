"""The shape of the code, checked on its import graph (grimp reads every import statement,
function-level and TYPE_CHECKING ones included):

- the layers point inward only: ``daemon.core`` ← ``adapters`` ← ``daemon.runtime`` ← the
  composition roots (``daemon.cli*``, ``daemon.config_file``);
- no module imports itself back through others (no import circles);
- the core speaks its own vocabulary: no broker's order-status strings in its source.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("daemon", "adapters", include_external_packages=False)


def layer_of(module: str) -> int:
    """0 core, 1 adapters, 2 runtime, 3 composition roots (the CLI and its file loading)."""
    if module == "daemon.core" or module.startswith("daemon.core."):
        return 0
    if module == "adapters" or module.startswith("adapters."):
        return 1
    if module == "daemon.runtime" or module.startswith("daemon.runtime."):
        return 2
    return 3  # daemon, daemon.cli*, daemon.config_file


LAYER_NAMES = ("daemon.core", "adapters", "daemon.runtime", "the CLI")


def test_layers_point_inward_only(graph: grimp.ImportGraph) -> None:
    wrong = []
    for module in sorted(graph.modules):
        if module in ("daemon", "adapters"):  # package roots hold no code of a layer
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported in ("daemon", "adapters"):
                continue
            if layer_of(imported) > layer_of(module):
                wrong.append(
                    f"{module} ({LAYER_NAMES[layer_of(module)]}) imports {imported} "
                    f"({LAYER_NAMES[layer_of(imported)]})"
                )
    assert wrong == [], "imports against the layers:\n" + "\n".join(wrong)


def import_circles(graph: grimp.ImportGraph) -> Iterator[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    yield sorted(component)


def test_no_import_circles(graph: grimp.ImportGraph) -> None:
    circles = list(import_circles(graph))
    assert circles == [], "modules that import each other (directly or around a circle):\n" + (
        "\n".join(" <-> ".join(c) for c in circles)
    )


def test_the_circle_finder_finds_a_circle() -> None:
    """The check above can fail: a graph with a circle in it is reported."""
    g = grimp.ImportGraph()
    for m in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        g.add_module(m)
    g.add_import(importer="pkg.a", imported="pkg.b")
    g.add_import(importer="pkg.b", imported="pkg.c")
    g.add_import(importer="pkg.c", imported="pkg.a")
    assert list(import_circles(g)) == [["pkg.a", "pkg.b", "pkg.c"]]


# Alpaca's order statuses that are not also plain English words of our own vocabulary
# (``filled``, ``canceled``, ``rejected``, ``new`` are): their mapping lives in the adapter.
BROKER_STATUSES = (
    "partially_filled",
    "pending_new",
    "pending_cancel",
    "pending_replace",
    "pending_review",
    "done_for_day",
    "accepted_for_bidding",
)


def test_the_core_knows_no_broker_order_statuses() -> None:
    pattern = re.compile("|".join(BROKER_STATUSES))
    found = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in sorted((ROOT / "daemon" / "core").rglob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == [], "broker vocabulary inside the core (map it in the adapter):\n" + (
        "\n".join(found)
    )


def test_core_modules_import_modules_not_subpackages(graph: grimp.ImportGraph) -> None:
    """Inside the core, a module names the module it needs (``daemon.core.planning.costs``),
    never a subpackage's ``__init__`` (``daemon.core.planning``): those re-export for the
    outside, and importing one from inside would make a circle through it."""
    core = ROOT / "daemon" / "core"
    packages = {
        ".".join(("daemon", "core", *d.relative_to(core).parts))
        for d in core.rglob("*") if d.is_dir() and (d / "__init__.py").exists()
    }
    wrong = sorted(
        f"{m} imports {i}"
        for m in graph.modules if m.startswith("daemon.core.") and m not in packages
        for i in graph.find_modules_directly_imported_by(m) if i in packages
    )
    assert wrong == [], "import the module itself:\n" + "\n".join(wrong)


def test_every_name_a_subpackage_exports_resolves() -> None:
    """The lazy re-exports (``daemon.core.reexport``) name real things: a typo in a
    subpackage's table would only show when someone outside used the name."""
    import importlib

    core = ROOT / "daemon" / "core"
    missing = []
    for d in sorted(p for p in core.iterdir() if (p / "__init__.py").exists()):
        pkg = importlib.import_module(f"daemon.core.{d.name}")
        for name in getattr(pkg, "__all__", ()):
            try:
                getattr(pkg, name)
            except AttributeError:
                missing.append(f"daemon.core.{d.name}.{name}")
    assert missing == []
def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    """grimp sees import statements, not that importing ``daemon.core.planning.plan`` first
    runs ``daemon/core/planning/__init__.py`` (which re-exports the planner, which reads
    the config, …): a circle through a package's ``__init__`` only shows when a module is
    imported first, as a child process does (``python -m tests.adapters.store.kill9_child``
    starts with ``adapters.store.journal``). Each module here is imported first, with every
    module of ours forgotten before it."""
    import subprocess
    import sys

    names = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for top in ("daemon", "adapters")
        for p in (ROOT / top).rglob("*.py")
    )
    script = (
        "import importlib, sys\n"
        "bad = []\n"
        f"for name in {names!r}:\n"
        "    for m in [m for m in sys.modules if m.split('.')[0] in ('daemon', 'adapters')]:\n"
        "        del sys.modules[m]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as e:\n"
        "        bad.append(f'{name}: {e}')\n"
        "print('\\n'.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, check=True)
    assert out.stdout.strip() == "", out.stdout
